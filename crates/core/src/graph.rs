//! A bot's transition graph, as text that Mermaid and Graphviz draw.

use std::fmt::Write as _;

/// The states of a [`Bot`](crate::Bot) and the transitions they declared, from
/// [`Bot::graph`](crate::Bot::graph). The initial state comes first, the others in name order.
///
/// ```
/// use botwire_core::{handler_fn, Bot, Reply};
///
/// let noop = || handler_fn(|_cx, _event| async { Ok(Reply::none()) });
/// let bot = Bot::builder()
///     .initial("idle")
///     .state("idle", noop())
///     .state("teaching", noop())
///     .transitions("idle", ["teaching"])
///     .transitions("teaching", ["idle"])
///     .build()?;
/// assert_eq!(
///     bot.graph().mermaid(),
///     "stateDiagram-v2\n    [*] --> idle\n    idle --> teaching\n    teaching --> idle\n"
/// );
/// # Ok::<(), botwire_core::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    states: Vec<String>,
    edges: Vec<Edge>,
    declared: bool,
}

/// One transition of a [`Graph`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct Edge {
    /// The state it leaves.
    pub from: String,
    /// The state it goes to.
    pub to: String,
    /// What takes it, when it is not an event's handler (a state timeout: `after 5m`).
    pub label: Option<String>,
}

impl Edge {
    pub(crate) fn new(from: &str, to: &str, label: Option<String>) -> Self {
        Self {
            from: from.to_owned(),
            to: to.to_owned(),
            label,
        }
    }
}

impl Graph {
    /// `states` with the initial one first; `edges` in any order; `declared` when the bot
    /// declared its transitions (otherwise any state may go to any other, and no edge is drawn
    /// but the timeouts).
    pub(crate) fn new(states: Vec<String>, mut edges: Vec<Edge>, declared: bool) -> Self {
        edges.sort_by(|a, b| {
            let at = |name: &str| states.iter().position(|s| s == name);
            (at(&a.from), at(&a.to), &a.label).cmp(&(at(&b.from), at(&b.to), &b.label))
        });
        edges.dedup();
        Self {
            states,
            edges,
            declared,
        }
    }

    /// The states, the initial one first.
    pub fn states(&self) -> &[String] {
        &self.states
    }

    /// The initial state.
    pub fn initial(&self) -> &str {
        &self.states[0]
    }

    /// The transitions, in the order of the states they leave.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Whether the bot declared its transitions. When it did not, its handlers may go to any
    /// state and the graph shows only the states (and their timeouts).
    pub fn is_declared(&self) -> bool {
        self.declared
    }

    /// The graph as a Mermaid state diagram (GitHub and GitLab draw it in Markdown).
    pub fn mermaid(&self) -> String {
        let id = |name: &str| -> String {
            if is_plain(name) {
                name.to_owned()
            } else {
                let at = self.states.iter().position(|s| s == name).unwrap_or(0);
                format!("s{at}")
            }
        };
        let mut out = String::from("stateDiagram-v2\n");
        for name in self.states.iter().filter(|name| !is_plain(name)) {
            let shown = name.replace('"', "#quot;");
            let _ = writeln!(out, "    state \"{shown}\" as {}", id(name));
        }
        let _ = writeln!(out, "    [*] --> {}", id(self.initial()));
        for name in &self.states {
            let alone = !self.edges.iter().any(|e| e.from == *name || e.to == *name);
            if alone && name != self.initial() {
                let _ = writeln!(out, "    {}", id(name));
            }
        }
        for edge in &self.edges {
            let _ = write!(out, "    {} --> {}", id(&edge.from), id(&edge.to));
            if let Some(label) = &edge.label {
                let _ = write!(out, ": {}", label.replace(['\n', ':'], " "));
            }
            out.push('\n');
        }
        out
    }

    /// The graph in Graphviz's DOT language (`dot -Tsvg` draws it).
    pub fn dot(&self) -> String {
        let mut out = String::from(
            "digraph bot {\n    rankdir=LR;\n    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n    \"\" [shape=point];\n",
        );
        for name in &self.states {
            let _ = writeln!(out, "    {};", quoted(name));
        }
        let _ = writeln!(out, "    \"\" -> {};", quoted(self.initial()));
        for edge in &self.edges {
            let _ = write!(out, "    {} -> {}", quoted(&edge.from), quoted(&edge.to));
            if let Some(label) = &edge.label {
                let _ = write!(out, " [label={}, style=dashed]", quoted(label));
            }
            out.push_str(";\n");
        }
        out.push_str("}\n");
        out
    }
}

/// Whether Mermaid takes `name` as a state id as it is.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "state"
        && name != "end"
}

/// A DOT string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        Graph::new(
            vec!["idle".into(), "say \"hi\"".into(), "teaching".into()],
            vec![
                Edge::new("teaching", "idle", Some("after 5m".into())),
                Edge::new("teaching", "idle", None),
                Edge::new("idle", "teaching", None),
                Edge::new("idle", "teaching", None),
            ],
            true,
        )
    }

    #[test]
    fn mermaid_names_odd_states_by_alias_and_orders_edges_by_state() {
        assert_eq!(
            graph().mermaid(),
            "stateDiagram-v2\n    state \"say #quot;hi#quot;\" as s1\n    [*] --> idle\n    s1\n    idle --> teaching\n    teaching --> idle\n    teaching --> idle: after 5m\n"
        );
    }

    #[test]
    fn dot_quotes_every_name_and_dashes_timeouts() {
        let dot = graph().dot();
        assert!(dot.starts_with("digraph bot {\n"), "{dot}");
        assert!(dot.contains("    \"say \\\"hi\\\"\";\n"), "{dot}");
        assert!(dot.contains("    \"\" -> \"idle\";\n"), "{dot}");
        assert!(
            dot.contains("    \"teaching\" -> \"idle\" [label=\"after 5m\", style=dashed];\n"),
            "{dot}"
        );
        assert_eq!(
            dot.matches("\"idle\" -> \"teaching\"").count(),
            1,
            "deduplicated"
        );
        assert!(dot.ends_with("}\n"));
    }
}
