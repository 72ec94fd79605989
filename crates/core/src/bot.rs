//! `Bot`: the finite state machine that routes each event to its state's handler.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::graph::{Edge, Graph};
use crate::middleware::{Middleware, Next};
use crate::timeout::label;
use crate::{BoxError, Context, Event, EventKind, Handler, Reply, StateTimeout, Transition};

/// A bot: named states, each with its handler, an initial state, and an optional fallback.
///
/// Built with [`Bot::builder`] (or [`Bot::builder_for`] a [`BotState`](crate::BotState) type), which refuses a bot without an initial state, with a state
/// named twice, or whose declared transitions name a state it lacks or leave a state out of
/// reach. An event in a state the bot does not have goes to the fallback handler, or to the
/// initial state's handler when there is no fallback.
pub struct Bot {
    initial: Arc<str>,
    states: HashMap<Arc<str>, State>,
    fallback: Option<Arc<dyn Handler>>,
    /// Runs around every handler, the first added outermost.
    middleware: Arc<[Arc<dyn Middleware>]>,
    /// Whether the builder declared transitions: then a handler may move only along them.
    declared: bool,
    unknown_targets: AtomicU64,
}

/// One state of a [`Bot`]: its handler and, when the bot declared its transitions, where it
/// may go.
pub(crate) struct State {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) targets: Box<[Arc<str>]>,
    pub(crate) timeout: Option<StateTimeout>,
}

/// Why dispatching an event failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The handler returned an error.
    #[error("handler failed: {0}")]
    Handler(#[source] BoxError),
    /// The handler asked to go to a state the bot does not have. Nothing is sent.
    #[error("the handler of state {from:?} moved to {to:?}, which the bot does not have")]
    UnknownTarget {
        /// The state the event was handled in.
        from: String,
        /// The state the handler asked for.
        to: String,
    },
    /// The handler asked to go to a state its own state did not declare as a target
    /// ([`transitions`](crate::BotBuilder::transitions)). Nothing is sent.
    #[error(
        "the handler of state {from:?} moved to {to:?}, which {from:?} does not declare: add it with .transitions({from:?}, [..])"
    )]
    UndeclaredTarget {
        /// The state the event was handled in.
        from: String,
        /// The state the handler asked for.
        to: String,
    },
}

/// The outcome of [`Bot::dispatch`]: the reply and the state the conversation is in after it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dispatched {
    /// The handler's reply.
    pub reply: Reply,
    /// The conversation's state after this event.
    pub next_state: Arc<str>,
    /// Whether `next_state` differs from the state the event arrived in.
    pub changed: bool,
}

impl Bot {
    pub(crate) fn from_parts(
        initial: Arc<str>,
        states: HashMap<Arc<str>, State>,
        fallback: Option<Arc<dyn Handler>>,
        middleware: Vec<Arc<dyn Middleware>>,
        declared: bool,
    ) -> Self {
        Self {
            initial,
            states,
            fallback,
            middleware: middleware.into(),
            declared,
            unknown_targets: AtomicU64::new(0),
        }
    }

    /// The initial state's name.
    pub fn initial_state(&self) -> &str {
        &self.initial
    }

    /// Whether the bot has a state of this name.
    pub fn has_state(&self, name: &str) -> bool {
        self.states.contains_key(name)
    }

    /// The names of the bot's states, in no particular order.
    pub fn states(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(|name| &**name)
    }

    /// The states `state` may move to, when the bot declared its transitions; `None` when it
    /// did not (any state is allowed) or has no such state.
    pub fn transitions_of(&self, state: &str) -> Option<impl Iterator<Item = &str>> {
        let found = self.states.get(state).filter(|_| self.declared)?;
        Some(found.targets.iter().map(|target| &**target))
    }

    /// The bot's states and declared transitions, to draw ([`Graph::mermaid`],
    /// [`Graph::dot`]).
    pub fn graph(&self) -> Graph {
        let mut names: Vec<String> = self
            .states
            .keys()
            .filter(|name| **name != self.initial)
            .map(|name| name.to_string())
            .collect();
        names.sort_unstable();
        names.insert(0, self.initial.to_string());
        let mut edges: Vec<Edge> = self
            .states
            .iter()
            .filter_map(|(from, state)| {
                let timeout = state.timeout.as_ref()?;
                Some(Edge::new(
                    from,
                    timeout.target(),
                    Some(label(timeout.after())),
                ))
            })
            .collect();
        if self.declared {
            edges.extend(self.states.iter().flat_map(|(from, state)| {
                state.targets.iter().map(|to| Edge::new(from, to, None))
            }));
        }
        Graph::new(names, edges, self.declared)
    }

    /// The timeout of `state`, if it has one.
    pub fn timeout_of(&self, state: &str) -> Option<&StateTimeout> {
        self.states.get(state)?.timeout.as_ref()
    }

    /// Whether any state has a timeout (a server runs its timers only then).
    pub fn has_timeouts(&self) -> bool {
        self.states.values().any(|state| state.timeout.is_some())
    }

    /// The conversation's current state as botwire names it: absent or empty means the initial
    /// state; any other name is kept, known to the bot or not.
    pub fn current_state(&self, incoming: Option<&str>) -> Arc<str> {
        match incoming {
            None | Some("") => self.initial.clone(),
            Some(name) => match self.states.get_key_value(name) {
                Some((known, _)) => known.clone(),
                None => Arc::from(name),
            },
        }
    }

    /// How many times a handler asked for a state the bot does not have, or one its state did
    /// not declare.
    pub fn unknown_transitions(&self) -> u64 {
        self.unknown_targets.load(Ordering::Relaxed)
    }

    /// Runs the handler of `cx.state()` (or the fallback, or the initial state's handler when the
    /// bot has no such state), inside the middleware chain, and checks the transition the reply
    /// asks for.
    ///
    /// # Errors
    /// [`DispatchError::Handler`] when the handler fails; [`DispatchError::UnknownTarget`] when it
    /// moves to a state the bot does not have, and [`DispatchError::UndeclaredTarget`] to one
    /// its state did not declare (both counted in
    /// [`unknown_transitions`](Self::unknown_transitions)).
    pub async fn dispatch(&self, cx: &Context, event: &Event) -> Result<Dispatched, DispatchError> {
        let from = self.states.get(cx.state());
        let handler = from
            .map(|state| &state.handler)
            .or(self.fallback.as_ref())
            .unwrap_or_else(|| &self.states[&*self.initial].handler);
        let reply = self
            .run(handler, cx, event)
            .await
            .map_err(DispatchError::Handler)?;
        let (next_state, changed) = match reply.transition() {
            Transition::Stay => (self.current_state(Some(cx.state())), false),
            Transition::Goto(target) => {
                let Some((known, _)) = self.states.get_key_value(target.as_str()) else {
                    return Err(self.refused(DispatchError::UnknownTarget {
                        from: cx.state().to_owned(),
                        to: target.clone(),
                    }));
                };
                let changed = **known != *cx.state();
                // The fallback handles states the bot lacks, which declare nothing.
                let declared = |state: &State| state.targets.iter().any(|t| t == known);
                if changed && self.declared && from.is_some_and(|state| !declared(state)) {
                    return Err(self.refused(DispatchError::UndeclaredTarget {
                        from: cx.state().to_owned(),
                        to: target.clone(),
                    }));
                }
                (known.clone(), changed)
            }
        };
        Ok(Dispatched {
            reply,
            next_state,
            changed,
        })
    }

    /// Times the conversation out of `cx.state()`: runs its timeout's handler (inside the
    /// middleware, with an event of kind [`EventKind::TimedOut`]) and moves to its target,
    /// whatever the handler's reply says. `None` when the state has no timeout (it was taken
    /// away since the timer was set).
    ///
    /// # Errors
    /// [`DispatchError::Handler`] when the timeout's handler fails.
    pub async fn time_out(&self, cx: &Context) -> Result<Option<Dispatched>, DispatchError> {
        let Some((from, state)) = self.states.get_key_value(cx.state()) else {
            return Ok(None);
        };
        let Some(timeout) = &state.timeout else {
            return Ok(None);
        };
        let reply = match timeout.handler() {
            Some(handler) => {
                let event = Event::new(EventKind::TimedOut {
                    after: timeout.after(),
                });
                self.run(handler, cx, &event)
                    .await
                    .map_err(DispatchError::Handler)?
            }
            None => Reply::none(),
        };
        // The builder resolved every target to the bot's own name.
        let to = self.current_state(Some(timeout.target()));
        Ok(Some(Dispatched {
            reply: reply.goto(&to),
            changed: to != *from,
            next_state: to,
        }))
    }

    /// `handler`, inside the middleware chain when there is one.
    async fn run(
        &self,
        handler: &Arc<dyn Handler>,
        cx: &Context,
        event: &Event,
    ) -> Result<Reply, BoxError> {
        if self.middleware.is_empty() {
            handler.handle(cx, event).await
        } else {
            Next::new(self.middleware.clone(), handler.clone())
                .run(cx, event)
                .await
        }
    }

    fn refused(&self, error: DispatchError) -> DispatchError {
        self.unknown_targets.fetch_add(1, Ordering::Relaxed);
        error
    }
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("initial", &self.initial)
            .field("states", &self.states.keys().collect::<Vec<_>>())
            .field("middleware", &self.middleware.len())
            .field("declared", &self.declared)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler_fn;
    use crate::test_support::{context, goes_to, says, text};

    async fn body(bot: &Bot, state: Option<&str>) -> String {
        let out = bot
            .dispatch(&context(bot, state), &text("hi"))
            .await
            .expect("dispatch");
        out.reply
            .out_message()
            .map(|m| m.body().to_owned())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn routes_by_state_and_defaults_to_initial() {
        let bot = Bot::builder()
            .initial("a")
            .state("a", says("from a"))
            .state("b", says("from b"))
            .build()
            .expect("valid bot");
        assert_eq!(body(&bot, Some("b")).await, "from b");
        assert_eq!(body(&bot, None).await, "from a");
        assert_eq!(body(&bot, Some("")).await, "from a");
        // Unknown state without a fallback: the initial state's handler.
        assert_eq!(body(&bot, Some("zzz")).await, "from a");
    }

    #[tokio::test]
    async fn unknown_state_goes_to_fallback_when_set() {
        let bot = Bot::builder()
            .initial("a")
            .state("a", says("from a"))
            .fallback(says("fallback"))
            .build()
            .expect("valid bot");
        assert_eq!(body(&bot, Some("zzz")).await, "fallback");
        assert_eq!(body(&bot, Some("a")).await, "from a");
    }

    #[tokio::test]
    async fn transitions_are_checked_and_reported() {
        let bot = Bot::builder()
            .initial("a")
            .state("a", goes_to("b"))
            .state("b", goes_to("nowhere"))
            .build()
            .expect("valid bot");

        let out = bot
            .dispatch(&context(&bot, None), &text("hi"))
            .await
            .expect("a → b");
        assert_eq!(&*out.next_state, "b");
        assert!(out.changed);

        let err = bot
            .dispatch(&context(&bot, Some("b")), &text("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DispatchError::UnknownTarget { ref from, ref to } if from == "b" && to == "nowhere")
        );
        assert_eq!(bot.unknown_transitions(), 1);
    }

    #[tokio::test]
    async fn stay_keeps_the_state_and_goto_self_is_no_change() {
        let bot = Bot::builder()
            .initial("a")
            .state("a", goes_to("a"))
            .state("b", says("stay"))
            .build()
            .expect("valid bot");
        let out = bot
            .dispatch(&context(&bot, Some("b")), &text("hi"))
            .await
            .expect("ok");
        assert_eq!((&*out.next_state, out.changed), ("b", false));
        let out = bot
            .dispatch(&context(&bot, None), &text("hi"))
            .await
            .expect("ok");
        assert_eq!((&*out.next_state, out.changed), ("a", false));
    }

    #[tokio::test]
    async fn a_declared_graph_refuses_what_a_state_did_not_declare() {
        let bot = Bot::builder()
            .initial("a")
            .state("a", goes_to("b"))
            .state("b", goes_to("a"))
            .state("c", goes_to("c"))
            .transitions("a", ["b"])
            .transitions("b", ["c"])
            .fallback(goes_to("b"))
            .build()
            .expect("valid bot");
        let out = bot
            .dispatch(&context(&bot, None), &text("hi"))
            .await
            .expect("a → b");
        assert_eq!(&*out.next_state, "b");

        let err = bot
            .dispatch(&context(&bot, Some("b")), &text("hi"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, DispatchError::UndeclaredTarget { ref from, ref to } if from == "b" && to == "a"),
            "{err}"
        );
        assert!(
            err.to_string().contains(".transitions(\"b\", [..])"),
            "{err}"
        );
        assert_eq!(
            bot.unknown_transitions(),
            1,
            "counted like an unknown target"
        );

        let out = bot
            .dispatch(&context(&bot, Some("c")), &text("hi"))
            .await
            .expect("going to itself is staying");
        assert!(!out.changed);
        let out = bot
            .dispatch(&context(&bot, Some("gone")), &text("hi"))
            .await
            .expect("the fallback may go anywhere");
        assert_eq!(&*out.next_state, "b");
    }

    #[test]
    fn the_graph_lists_states_initial_first_and_declared_edges() {
        let bot = Bot::builder()
            .initial("b")
            .state("a", says("a"))
            .state("b", says("b"))
            .transitions("b", ["a"])
            .transitions("a", ["b"])
            .build()
            .expect("valid bot");
        let graph = bot.graph();
        assert_eq!(graph.states(), ["b", "a"]);
        let edges: Vec<(&str, &str)> = graph
            .edges()
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(edges, [("b", "a"), ("a", "b")]);
    }

    #[tokio::test]
    async fn a_timeout_says_its_line_and_moves_whatever_the_reply_says() {
        let after = std::time::Duration::from_secs(60);
        let bot = Bot::builder()
            .initial("idle")
            .state("idle", says("idle"))
            .state("teaching", says("teaching"))
            .timeout(
                "teaching",
                StateTimeout::new(after, "idle").with_handler(handler_fn(|cx, event| async move {
                    assert_eq!(cx.state(), "teaching");
                    assert_eq!(
                        event.kind(),
                        &EventKind::TimedOut {
                            after: std::time::Duration::from_secs(60)
                        }
                    );
                    Ok(Reply::text("Teaching timed out.").goto("teaching"))
                })),
            )
            .build()
            .expect("valid bot");
        let out = bot
            .time_out(&context(&bot, Some("teaching")))
            .await
            .expect("timed out")
            .expect("teaching has a timeout");
        assert_eq!((&*out.next_state, out.changed), ("idle", true));
        assert_eq!(
            out.reply.out_message().map(|m| m.body()),
            Some("Teaching timed out.")
        );
        assert_eq!(out.reply.transition(), &Transition::Goto("idle".into()));
        let none = bot
            .time_out(&context(&bot, Some("idle")))
            .await
            .expect("ok");
        assert!(none.is_none(), "idle has no timeout");
        let gone = bot
            .time_out(&context(&bot, Some("removed")))
            .await
            .expect("ok");
        assert!(gone.is_none(), "nor has a state the bot lost");
    }

    #[tokio::test]
    async fn handler_errors_are_reported() {
        let bot = Bot::builder()
            .initial("a")
            .state(
                "a",
                handler_fn(|_cx, _ev| async { Err::<Reply, BoxError>("boom".into()) }),
            )
            .build()
            .expect("valid bot");
        let err = bot
            .dispatch(&context(&bot, None), &text("hi"))
            .await
            .unwrap_err();
        assert!(matches!(err, DispatchError::Handler(e) if e.to_string() == "boom"));
    }
}
