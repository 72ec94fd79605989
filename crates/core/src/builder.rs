//! `BotBuilder`: a bot's states, handlers and declared transitions, checked once at `build()`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::bot::State;
use crate::middleware::Middleware;
use crate::{Bot, BotState, Handler, IntoStateName, StateTimeout};

/// Builds a [`Bot`]; see [`Bot::builder`] and [`Bot::builder_for`].
#[must_use]
#[derive(Default)]
pub struct BotBuilder {
    initial: Option<String>,
    states: Vec<(String, Arc<dyn Handler>)>,
    transitions: Vec<(String, Vec<String>)>,
    timeouts: Vec<(String, StateTimeout)>,
    fallback: Option<Arc<dyn Handler>>,
    middleware: Vec<Arc<dyn Middleware>>,
    typed: Option<TypedStates>,
}

/// The states of the [`BotState`] type a bot was built for.
struct TypedStates {
    type_name: &'static str,
    names: Vec<&'static str>,
}

/// Why a [`Bot`] could not be built. Each says how to mend it.
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
    /// `transitions(from, ..)` names a state the bot does not have.
    #[error(
        "transitions are declared for {0:?}, which the bot does not have: add it with .state({0:?}, handler) or correct the name"
    )]
    UnknownSource(String),
    /// A state declares a transition to a state the bot does not have.
    #[error(
        "the state {from:?} declares a transition to {to:?}, which the bot does not have: add it with .state({to:?}, handler) or correct the name"
    )]
    UnknownTarget {
        /// The state that declares it.
        from: String,
        /// The state it names.
        to: String,
    },
    /// No declared transition leads from the initial state to this one.
    #[error(
        "no declared transition leads from the initial state {initial:?} to {state:?}: declare one with .transitions(<a state>, [{state:?}]), or remove the state"
    )]
    Unreachable {
        /// The state out of reach.
        state: String,
        /// The initial state.
        initial: String,
    },
    /// `timeout(state, ..)` names a state the bot does not have.
    #[error(
        "a timeout is declared for {0:?}, which the bot does not have: add it with .state({0:?}, handler) or correct the name"
    )]
    UnknownTimeoutState(String),
    /// A state has two timeouts.
    #[error("the state {0:?} has two timeouts: keep one")]
    DuplicateTimeout(String),
    /// A timeout waits no time.
    #[error("the timeout of {0:?} waits no time: give it a duration above zero")]
    ZeroTimeout(String),
    /// A value of the bot's [`BotState`] type has no handler.
    #[error("the state {state:?} of {type_name} has no handler: add it with .state(..)")]
    MissingState {
        /// The state's name.
        state: String,
        /// The [`BotState`] type.
        type_name: &'static str,
    },
    /// A state is not a value of the bot's [`BotState`] type.
    #[error("the state {state:?} is not one of {type_name}'s: add it to {type_name}::ALL")]
    NotOfType {
        /// The state's name.
        state: String,
        /// The [`BotState`] type.
        type_name: &'static str,
    },
}

impl Bot {
    /// Starts building a bot whose states are named by strings.
    pub fn builder() -> BotBuilder {
        BotBuilder::default()
    }

    /// Starts building a bot whose states are the values of `S`: `build()` then also refuses
    /// a value of `S` without a handler and a handler for a name `S` does not have.
    pub fn builder_for<S: BotState>() -> BotBuilder {
        BotBuilder::default().states_of::<S>()
    }
}

impl BotBuilder {
    /// Names the initial state: where a conversation starts, and where an event with no state goes.
    pub fn initial(mut self, name: impl IntoStateName) -> Self {
        self.initial = Some(name.into_state_name());
        self
    }

    /// Adds a state and its handler.
    pub fn state(mut self, name: impl IntoStateName, handler: impl Handler) -> Self {
        self.states
            .push((name.into_state_name(), Arc::new(handler)));
        self
    }

    /// Declares the states `from` may move to (besides staying). Once any state declares its
    /// transitions, the bot's graph is declared: a state that declares none may only stay,
    /// `build()` refuses a target the bot lacks and a state the initial one cannot reach, and
    /// a handler that moves anywhere else is refused at run time. Called again for the same
    /// state, it adds to what that state declared.
    pub fn transitions<I>(mut self, from: impl IntoStateName, to: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoStateName,
    {
        let targets = to.into_iter().map(IntoStateName::into_state_name).collect();
        self.transitions.push((from.into_state_name(), targets));
        self
    }

    /// Gives `state` a timeout: after [`StateTimeout::after`] without an event, the
    /// conversation moves to its target by itself (and says what its handler answers). The
    /// move counts as a declared transition. A server keeps the timer in its store, so it
    /// fires once, across instances and restarts.
    pub fn timeout(mut self, state: impl IntoStateName, timeout: StateTimeout) -> Self {
        self.timeouts.push((state.into_state_name(), timeout));
        self
    }

    /// Sets the handler for events in states the bot does not have. Its transitions are not
    /// held to the declared graph: it is how a conversation in a state since removed gets back.
    pub fn fallback(mut self, handler: impl Handler) -> Self {
        self.fallback = Some(Arc::new(handler));
        self
    }

    /// Adds a middleware around every handler ([`middleware`](crate::middleware)). The first
    /// added runs first: it sees the event before the others and the reply after them.
    pub fn middleware(mut self, middleware: impl Middleware) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Declares that the bot's states are the values of `S` ([`Bot::builder_for`]).
    pub fn states_of<S: BotState>(mut self) -> Self {
        let type_name = std::any::type_name::<S>();
        self.typed = Some(TypedStates {
            type_name: type_name.rsplit("::").next().unwrap_or(type_name),
            names: S::ALL.iter().map(|state| state.name()).collect(),
        });
        self
    }

    /// Builds the bot.
    ///
    /// # Errors
    /// When there is no initial state, the initial state was not added, a state is named twice
    /// or is empty; when declared transitions name a state the bot lacks or leave a state out
    /// of the initial state's reach; when a [`BotState`] value has no handler, or a handler's
    /// state is not one of the type's.
    pub fn build(self) -> Result<Bot, BuildError> {
        let initial = self.initial.ok_or(BuildError::MissingInitial)?;
        let mut handlers = HashMap::with_capacity(self.states.len());
        for (name, handler) in self.states {
            if name.is_empty() {
                return Err(BuildError::EmptyStateName);
            }
            match handlers.entry(Arc::<str>::from(name)) {
                Entry::Occupied(taken) => {
                    return Err(BuildError::DuplicateState(taken.key().to_string()));
                }
                Entry::Vacant(slot) => {
                    slot.insert(handler);
                }
            }
        }
        let Some((initial, _)) = handlers.get_key_value(initial.as_str()) else {
            return Err(BuildError::UnknownInitial(initial));
        };
        let initial = initial.clone();
        if let Some(typed) = &self.typed {
            typed.check(&handlers)?;
        }
        let declared = !self.transitions.is_empty();
        let mut targets = declared_targets(&handlers, self.transitions)?;
        let mut timeouts = resolved_timeouts(&handlers, self.timeouts)?;
        if declared {
            check_reachable(&initial, &handlers, &targets, &timeouts)?;
        }
        let states = handlers
            .into_iter()
            .map(|(name, handler)| {
                let targets = targets.remove(&name).unwrap_or_default().into();
                let timeout = timeouts.remove(&name);
                let state = State {
                    handler,
                    targets,
                    timeout,
                };
                (name, state)
            })
            .collect();
        Ok(Bot::from_parts(
            initial,
            states,
            self.fallback,
            self.middleware,
            declared,
        ))
    }
}

impl TypedStates {
    fn check(&self, handlers: &HashMap<Arc<str>, Arc<dyn Handler>>) -> Result<(), BuildError> {
        let type_name = self.type_name;
        if let Some(missing) = self
            .names
            .iter()
            .find(|name| !handlers.contains_key(**name))
        {
            return Err(BuildError::MissingState {
                state: (*missing).to_owned(),
                type_name,
            });
        }
        let mut foreign: Vec<&Arc<str>> = handlers
            .keys()
            .filter(|name| !self.names.contains(&&***name))
            .collect();
        foreign.sort_unstable();
        match foreign.first() {
            Some(name) => Err(BuildError::NotOfType {
                state: name.to_string(),
                type_name,
            }),
            None => Ok(()),
        }
    }
}

/// Each state's declared targets, as the bot's own names, merged per state and in the order
/// given.
fn declared_targets(
    handlers: &HashMap<Arc<str>, Arc<dyn Handler>>,
    transitions: Vec<(String, Vec<String>)>,
) -> Result<HashMap<Arc<str>, Vec<Arc<str>>>, BuildError> {
    let known = |name: &str| handlers.get_key_value(name).map(|(name, _)| name.clone());
    let mut declared: HashMap<Arc<str>, Vec<Arc<str>>> = HashMap::new();
    for (from, to) in transitions {
        let Some(source) = known(&from) else {
            return Err(BuildError::UnknownSource(from));
        };
        let list = declared.entry(source).or_default();
        for target in to {
            let Some(target) = known(&target) else {
                return Err(BuildError::UnknownTarget { from, to: target });
            };
            if !list.contains(&target) {
                list.push(target);
            }
        }
    }
    Ok(declared)
}

/// Each state's timeout, its target as the bot's own name.
fn resolved_timeouts(
    handlers: &HashMap<Arc<str>, Arc<dyn Handler>>,
    timeouts: Vec<(String, StateTimeout)>,
) -> Result<HashMap<Arc<str>, StateTimeout>, BuildError> {
    let mut resolved = HashMap::with_capacity(timeouts.len());
    for (state, timeout) in timeouts {
        let Some((from, _)) = handlers.get_key_value(state.as_str()) else {
            return Err(BuildError::UnknownTimeoutState(state));
        };
        let Some((to, _)) = handlers.get_key_value(timeout.target()) else {
            return Err(BuildError::UnknownTarget {
                from: state,
                to: timeout.target().to_owned(),
            });
        };
        if timeout.after().is_zero() {
            return Err(BuildError::ZeroTimeout(state));
        }
        if resolved
            .insert(from.clone(), timeout.with_target(to.clone()))
            .is_some()
        {
            return Err(BuildError::DuplicateTimeout(state));
        }
    }
    Ok(resolved)
}

/// Refuses a state that no declared path (transitions and timeouts) from `initial` reaches,
/// naming the first in name order (so the message is the same from run to run).
fn check_reachable(
    initial: &Arc<str>,
    handlers: &HashMap<Arc<str>, Arc<dyn Handler>>,
    targets: &HashMap<Arc<str>, Vec<Arc<str>>>,
    timeouts: &HashMap<Arc<str>, StateTimeout>,
) -> Result<(), BuildError> {
    let mut reached: HashSet<&str> = HashSet::from([&**initial]);
    let mut next = VecDeque::from([&**initial]);
    while let Some(state) = next.pop_front() {
        let declared = targets.get(state).into_iter().flatten().map(|t| &**t);
        let timed = timeouts.get(state).map(StateTimeout::target);
        for target in declared.chain(timed) {
            if reached.insert(target) {
                next.push_back(target);
            }
        }
    }
    let mut unreached: Vec<&Arc<str>> = handlers
        .keys()
        .filter(|name| !reached.contains(&***name))
        .collect();
    unreached.sort_unstable();
    match unreached.first() {
        Some(state) => Err(BuildError::Unreachable {
            state: state.to_string(),
            initial: initial.to_string(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::says;

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

    fn three_states() -> BotBuilder {
        Bot::builder()
            .initial("idle")
            .state("idle", says("idle"))
            .state("teaching", says("teaching"))
            .state("quiz", says("quiz"))
    }

    #[test]
    fn a_declared_target_the_bot_lacks_is_named_with_the_fix() {
        let err = three_states()
            .transitions("idle", ["teching", "quiz"])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            BuildError::UnknownTarget {
                from: "idle".into(),
                to: "teching".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "the state \"idle\" declares a transition to \"teching\", which the bot does not have: add it with .state(\"teching\", handler) or correct the name"
        );
        let err = three_states()
            .transitions("idel", ["quiz"])
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::UnknownSource("idel".into()));
    }

    #[test]
    fn a_state_out_of_reach_is_named_with_the_fix() {
        let err = three_states()
            .transitions("idle", ["quiz"])
            .transitions("quiz", ["idle"])
            .build()
            .unwrap_err();
        assert_eq!(
            err,
            BuildError::Unreachable {
                state: "teaching".into(),
                initial: "idle".into()
            }
        );
        assert!(
            err.to_string()
                .contains(".transitions(<a state>, [\"teaching\"])")
        );
        // Reached through another state counts.
        let bot = three_states()
            .transitions("idle", ["quiz"])
            .transitions("quiz", ["teaching"])
            .build()
            .expect("every state reached");
        let from_quiz: Vec<&str> = bot.transitions_of("quiz").expect("declared").collect();
        assert_eq!(from_quiz, ["teaching"]);
        assert_eq!(bot.transitions_of("teaching").expect("declared").count(), 0);
    }

    #[test]
    fn timeouts_are_checked_and_count_as_transitions() {
        let five = std::time::Duration::from_secs(300);
        let idle = || StateTimeout::new(five, "idle");
        let cases = [
            (
                three_states().timeout("teching", idle()),
                BuildError::UnknownTimeoutState("teching".into()),
            ),
            (
                three_states().timeout("quiz", StateTimeout::new(five, "idel")),
                BuildError::UnknownTarget {
                    from: "quiz".into(),
                    to: "idel".into(),
                },
            ),
            (
                three_states()
                    .timeout("quiz", idle())
                    .timeout("quiz", idle()),
                BuildError::DuplicateTimeout("quiz".into()),
            ),
            (
                three_states().timeout("quiz", StateTimeout::new(Default::default(), "idle")),
                BuildError::ZeroTimeout("quiz".into()),
            ),
        ];
        for (builder, expected) in cases {
            assert_eq!(builder.build().unwrap_err(), expected);
        }
        // idle → teaching → (timeout) quiz: every state reached.
        let bot = three_states()
            .transitions("idle", ["teaching"])
            .timeout("teaching", StateTimeout::new(five, "quiz"))
            .timeout("quiz", idle())
            .build()
            .expect("valid");
        assert_eq!(
            bot.timeout_of("teaching").map(StateTimeout::target),
            Some("quiz")
        );
        assert!(bot.timeout_of("idle").is_none());
        assert!(bot.has_timeouts());
        let graph = bot.graph();
        let labelled: Vec<(&str, &str, Option<&str>)> = graph
            .edges()
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_deref()))
            .collect();
        assert_eq!(
            labelled,
            [
                ("idle", "teaching", None),
                ("quiz", "idle", Some("after 5m")),
                ("teaching", "quiz", Some("after 5m")),
            ]
        );
    }

    #[test]
    fn without_declarations_no_graph_is_checked() {
        let bot = three_states().build().expect("any graph");
        assert!(bot.transitions_of("idle").is_none());
        assert!(!bot.graph().is_declared());
    }

    #[test]
    fn declarations_for_one_state_merge() {
        let bot = three_states()
            .transitions("idle", ["quiz"])
            .transitions("idle", ["teaching", "quiz"])
            .build()
            .expect("valid");
        let from_idle: Vec<&str> = bot.transitions_of("idle").expect("declared").collect();
        assert_eq!(from_idle, ["quiz", "teaching"]);
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Step {
        Idle,
        Teaching,
    }

    impl BotState for Step {
        const ALL: &'static [Self] = &[Step::Idle, Step::Teaching];

        fn name(self) -> &'static str {
            match self {
                Step::Idle => "idle",
                Step::Teaching => "teaching",
            }
        }
    }

    #[test]
    fn a_typed_bot_has_a_handler_for_every_value_and_no_other() {
        let bot = Bot::builder_for::<Step>()
            .initial(Step::Idle)
            .state(Step::Idle, says("idle"))
            .state(Step::Teaching, says("teaching"))
            .transitions(Step::Idle, [Step::Teaching])
            .transitions(Step::Teaching, [Step::Idle])
            .build()
            .expect("valid");
        assert_eq!(bot.initial_state(), "idle");
        let missing = Bot::builder_for::<Step>()
            .initial(Step::Idle)
            .state(Step::Idle, says("idle"))
            .build()
            .unwrap_err();
        assert_eq!(
            missing,
            BuildError::MissingState {
                state: "teaching".into(),
                type_name: "Step"
            }
        );
        let foreign = Bot::builder_for::<Step>()
            .initial(Step::Idle)
            .state(Step::Idle, says("idle"))
            .state(Step::Teaching, says("teaching"))
            .state("quiz", says("quiz"))
            .build()
            .unwrap_err();
        assert_eq!(
            foreign.to_string(),
            "the state \"quiz\" is not one of Step's: add it to Step::ALL"
        );
    }
}
