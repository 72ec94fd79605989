//! The sample bot's transition graph, as the docs draw it: `docs/pictures/echo-bot-states.dot`
//! is what `Bot::graph().dot()` says now, the SVG beside it shows exactly those states and
//! transitions, and the Mermaid diagram in `docs/bots.md` is `Bot::graph().mermaid()`. When the
//! bot changes, this fails until the pictures are drawn again:
//!
//! ```sh
//! BOTWIRE_BLESS=1 cargo test -p echo-bot --test graph   # needs Graphviz's `dot`
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const AGAIN: &str = "the bot's graph changed: draw it again with BOTWIRE_BLESS=1 cargo test -p echo-bot --test graph";

fn docs(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(name)
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}; {AGAIN}", path.display()))
}

fn blessing() -> bool {
    std::env::var_os("BOTWIRE_BLESS").is_some()
}

/// The Mermaid block of `docs/bots.md` that follows the sample bot's marker.
const MERMAID_MARKER: &str =
    "<!-- the sample bot's graph: echo-bot/tests/graph.rs -->\n```mermaid\n";

#[test]
fn the_pictures_show_the_bots_graph() {
    let graph = echo_bot::bot().expect("the sample bot").graph();
    let dot_path = docs("pictures/echo-bot-states.dot");
    let svg_path = docs("pictures/echo-bot-states.svg");
    if blessing() {
        std::fs::write(&dot_path, graph.dot()).expect("the DOT file is written");
        let drawn = Command::new("dot")
            .arg("-Tsvg")
            .arg(&dot_path)
            .arg("-o")
            .arg(&svg_path)
            .status()
            .expect("Graphviz's dot runs (apt-get install graphviz)");
        assert!(drawn.success(), "dot failed");
    }
    assert_eq!(read(&dot_path), graph.dot(), "{AGAIN}");

    // Graphviz titles each node by its name and each edge `from->to`; the labels are texts.
    let svg = read(&svg_path);
    let between = |open: &str, close: &str| -> BTreeSet<String> {
        svg.split(open)
            .skip(1)
            .filter_map(|rest| rest.split_once(close).map(|(text, _)| unescape(text)))
            .collect()
    };
    let mut titles: BTreeSet<String> = graph.states().iter().cloned().collect();
    titles.insert(String::new());
    titles.insert(format!("->{}", graph.initial()));
    titles.extend(
        graph
            .edges()
            .iter()
            .map(|e| format!("{}->{}", e.from, e.to)),
    );
    titles.insert("bot".to_owned());
    assert_eq!(between("<title>", "</title>"), titles, "{AGAIN}");
    let mut texts: BTreeSet<String> = graph.states().iter().cloned().collect();
    texts.extend(graph.edges().iter().filter_map(|e| e.label.clone()));
    let shown: BTreeSet<String> = between("<text ", "</text>")
        .into_iter()
        .filter_map(|t| t.split_once('>').map(|(_, text)| text.to_owned()))
        .collect();
    assert_eq!(shown, texts, "{AGAIN}");
}

#[test]
fn the_guide_and_the_readme_show_the_graph() {
    let graph = echo_bot::bot().expect("the sample bot").graph();
    let guide_path = docs("bots.md");
    let guide = read(&guide_path);
    let Some((before, rest)) = guide.split_once(MERMAID_MARKER) else {
        panic!("docs/bots.md has no block after {MERMAID_MARKER:?}");
    };
    let Some((shown, after)) = rest.split_once("```\n") else {
        panic!("the Mermaid block in docs/bots.md is not closed");
    };
    if blessing() && shown != graph.mermaid() {
        let again = format!("{before}{MERMAID_MARKER}{}```\n{after}", graph.mermaid());
        std::fs::write(&guide_path, again).expect("docs/bots.md is written");
    } else {
        assert_eq!(shown, graph.mermaid(), "{AGAIN}");
    }
    let readme = read(&docs("../README.md"));
    assert!(
        readme.contains("(docs/pictures/echo-bot-states.svg)"),
        "the README shows the picture"
    );
}

/// The text of an SVG element, with Graphviz's entities for `-`, `>` and the like decoded.
fn unescape(text: &str) -> String {
    text.replace("&#45;", "-")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
