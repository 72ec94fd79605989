//! `Bot`: the finite state machine that routes each event to its state's handler.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{BoxError, Context, Event, Handler, Reply, Transition};

/// A bot: named states, each with its handler, an initial state, and an optional fallback.
///
/// Built with [`Bot::builder`], which refuses a bot without an initial state or with a state
/// named twice. An event in a state the bot does not have goes to the fallback handler, or to the
/// initial state's handler when there is no fallback.
pub struct Bot {
    initial: Arc<str>,
    states: HashMap<Arc<str>, Arc<dyn Handler>>,
    fallback: Option<Arc<dyn Handler>>,
    unknown_targets: AtomicU64,
}

/// Builds a [`Bot`]; see [`Bot::builder`].
#[must_use]
#[derive(Default)]
pub struct BotBuilder {
    initial: Option<String>,
    states: Vec<(String, Arc<dyn Handler>)>,
    fallback: Option<Arc<dyn Handler>>,
}

/// Why a [`Bot`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `initial(..)` was never called.
    #[error("the bot has no initial state: call .initial(name)")]
    MissingInitial,
    /// The initial state names a state that was not added.
    #[error("the initial state {0:?} has no handler: add it with .state({0:?}, handler)")]
    UnknownInitial(String),
    /// Two states share a name.
    #[error("the state {0:?} is defined twice")]
    DuplicateState(String),
    /// A state name is empty (platforms use the empty state to mean "none yet").
    #[error("a state name is empty; the empty state means the initial state")]
    EmptyStateName,
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
    /// Starts building a bot.
    pub fn builder() -> BotBuilder {
        BotBuilder::default()
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

    /// How many times a handler asked for a state the bot does not have.
    pub fn unknown_transitions(&self) -> u64 {
        self.unknown_targets.load(Ordering::Relaxed)
    }

    /// Runs the handler of `cx.state()` (or the fallback, or the initial state's handler when the
    /// bot has no such state) and checks the transition it asks for.
    ///
    /// # Errors
    /// [`DispatchError::Handler`] when the handler fails; [`DispatchError::UnknownTarget`] when it
    /// moves to a state the bot does not have (also counted in
    /// [`unknown_transitions`](Self::unknown_transitions)).
    pub async fn dispatch(&self, cx: &Context, event: &Event) -> Result<Dispatched, DispatchError> {
        let handler = self.handler_for(cx.state());
        let reply = handler
            .handle(cx, event)
            .await
            .map_err(DispatchError::Handler)?;
        let (next_state, changed) = match reply.transition() {
            Transition::Stay => (self.current_state(Some(cx.state())), false),
            Transition::Goto(target) => match self.states.get_key_value(target.as_str()) {
                Some((known, _)) => (known.clone(), **known != *cx.state()),
                None => {
                    self.unknown_targets.fetch_add(1, Ordering::Relaxed);
                    return Err(DispatchError::UnknownTarget {
                        from: cx.state().to_owned(),
                        to: target.clone(),
                    });
                }
            },
        };
        Ok(Dispatched {
            reply,
            next_state,
            changed,
        })
    }

    fn handler_for(&self, state: &str) -> &Arc<dyn Handler> {
        self.states
            .get(state)
            .or(self.fallback.as_ref())
            .unwrap_or_else(|| &self.states[&*self.initial])
    }
}

impl fmt::Debug for Bot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bot")
            .field("initial", &self.initial)
            .field("states", &self.states.keys().collect::<Vec<_>>())
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl BotBuilder {
    /// Names the initial state: where a conversation starts, and where an event with no state goes.
    pub fn initial(mut self, name: impl Into<String>) -> Self {
        self.initial = Some(name.into());
        self
    }

    /// Adds a state and its handler.
    pub fn state(mut self, name: impl Into<String>, handler: impl Handler) -> Self {
        self.states.push((name.into(), Arc::new(handler)));
        self
    }

    /// Sets the handler for events in states the bot does not have.
    pub fn fallback(mut self, handler: impl Handler) -> Self {
        self.fallback = Some(Arc::new(handler));
        self
    }

    /// Builds the bot.
    ///
    /// # Errors
    /// When there is no initial state, the initial state was not added, a state is named twice,
    /// or a state name is empty.
    pub fn build(self) -> Result<Bot, BuildError> {
        let initial = self.initial.ok_or(BuildError::MissingInitial)?;
        let mut states = HashMap::with_capacity(self.states.len());
        for (name, handler) in self.states {
            if name.is_empty() {
                return Err(BuildError::EmptyStateName);
            }
            match states.entry(Arc::<str>::from(name)) {
                Entry::Occupied(taken) => {
                    return Err(BuildError::DuplicateState(taken.key().to_string()));
                }
                Entry::Vacant(slot) => {
                    slot.insert(handler);
                }
            }
        }
        let Some((initial, _)) = states.get_key_value(initial.as_str()) else {
            return Err(BuildError::UnknownInitial(initial));
        };
        Ok(Bot {
            initial: initial.clone(),
            states,
            fallback: self.fallback,
            unknown_targets: AtomicU64::new(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::{ContextParts, EventKind, Message, handler_fn};

    fn says(word: &'static str) -> impl Handler {
        handler_fn(move |_cx, _ev| async move { Ok(Reply::text(word)) })
    }

    fn goes_to(state: &'static str) -> impl Handler {
        handler_fn(move |_cx, _ev| async move { Ok(Reply::none().goto(state)) })
    }

    fn cx(bot: &Bot, state: Option<&str>) -> Context {
        Context::from_parts(ContextParts {
            platform: "test",
            channel: "test".into(),
            conversation: "room".into(),
            delivery_id: "d1".into(),
            state: bot.current_state(state),
            deadline: Instant::now(),
        })
    }

    fn event() -> Event {
        Event::new(EventKind::Message(Message::text("hi")))
    }

    async fn body(bot: &Bot, state: Option<&str>) -> String {
        let out = bot
            .dispatch(&cx(bot, state), &event())
            .await
            .expect("dispatch");
        out.reply
            .out_message()
            .map(|m| m.body().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn build_refuses_missing_initial() {
        let err = Bot::builder().state("a", says("a")).build().unwrap_err();
        assert_eq!(err, BuildError::MissingInitial);
    }

    #[test]
    fn build_refuses_initial_without_handler() {
        let err = Bot::builder()
            .initial("b")
            .state("a", says("a"))
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::UnknownInitial("b".into()));
    }

    #[test]
    fn build_refuses_duplicate_and_empty_states() {
        let dup = Bot::builder()
            .initial("a")
            .state("a", says("1"))
            .state("a", says("2"))
            .build()
            .unwrap_err();
        assert_eq!(dup, BuildError::DuplicateState("a".into()));
        let empty = Bot::builder()
            .initial("a")
            .state("a", says("1"))
            .state("", says("2"))
            .build()
            .unwrap_err();
        assert_eq!(empty, BuildError::EmptyStateName);
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
            .dispatch(&cx(&bot, None), &event())
            .await
            .expect("a → b");
        assert_eq!(&*out.next_state, "b");
        assert!(out.changed);

        let err = bot
            .dispatch(&cx(&bot, Some("b")), &event())
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
            .dispatch(&cx(&bot, Some("b")), &event())
            .await
            .expect("ok");
        assert_eq!((&*out.next_state, out.changed), ("b", false));
        let out = bot.dispatch(&cx(&bot, None), &event()).await.expect("ok");
        assert_eq!((&*out.next_state, out.changed), ("a", false));
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
        let err = bot.dispatch(&cx(&bot, None), &event()).await.unwrap_err();
        assert!(matches!(err, DispatchError::Handler(e) if e.to_string() == "boom"));
    }
}
