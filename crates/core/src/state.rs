//! Naming states: by string (the wire's and the store's form), or by a bot's own type.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A bot's states as a type of its own, usually a field-less enum, implemented by hand (no
/// derive): with it, [`Reply::goto`](crate::Reply::goto) and the builder take the enum, so a
/// misspelled state is a compile error instead of a refused transition.
///
/// The names are what platforms and stores keep (FUNTEK's `botState`, the state store), so a
/// state keeps its name when the enum is reordered or a variant renamed.
///
/// ```
/// use botwire_core::BotState;
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// enum Step {
///     Idle,
///     Teaching,
/// }
///
/// impl BotState for Step {
///     const ALL: &'static [Self] = &[Step::Idle, Step::Teaching];
///
///     fn name(self) -> &'static str {
///         match self {
///             Step::Idle => "idle",
///             Step::Teaching => "teaching",
///         }
///     }
/// }
///
/// assert_eq!(Step::from_name("teaching"), Some(Step::Teaching));
/// assert_eq!(Step::from_name("teching"), None);
/// ```
pub trait BotState: Copy + Eq + fmt::Debug + Send + Sync + 'static {
    /// Every state, each once.
    const ALL: &'static [Self];

    /// The state's name, as platforms and stores keep it. Distinct for every value.
    fn name(self) -> &'static str;

    /// The state called `name`, if the type has one.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|state| state.name() == name)
    }
}

/// What names a state: a string, or a value of a [`BotState`] type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not name a state",
    label = "not a state name",
    note = "pass the state's name (a `&str` or `String`), or implement `BotState` for `{Self}`"
)]
pub trait IntoStateName {
    /// The state's name.
    fn into_state_name(self) -> String;
}

impl<S: BotState> IntoStateName for S {
    fn into_state_name(self) -> String {
        self.name().to_owned()
    }
}

impl IntoStateName for &str {
    fn into_state_name(self) -> String {
        self.to_owned()
    }
}

impl IntoStateName for String {
    fn into_state_name(self) -> String {
        self
    }
}

impl IntoStateName for &String {
    fn into_state_name(self) -> String {
        self.clone()
    }
}

impl IntoStateName for Cow<'_, str> {
    fn into_state_name(self) -> String {
        self.into_owned()
    }
}

impl IntoStateName for Arc<str> {
    fn into_state_name(self) -> String {
        (*self).to_owned()
    }
}

impl IntoStateName for &Arc<str> {
    fn into_state_name(self) -> String {
        (**self).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Light {
        Red,
        Green,
    }

    impl BotState for Light {
        const ALL: &'static [Self] = &[Light::Red, Light::Green];

        fn name(self) -> &'static str {
            match self {
                Light::Red => "red",
                Light::Green => "green",
            }
        }
    }

    #[test]
    fn a_typed_state_and_its_name_are_the_same_state() {
        for light in Light::ALL {
            assert_eq!(Light::from_name(light.name()), Some(*light));
            assert_eq!(light.into_state_name(), light.name());
        }
        assert_eq!(Light::from_name("Red"), None, "names are compared exactly");
        assert_eq!("red".into_state_name(), "red");
        assert_eq!(String::from("red").into_state_name(), "red");
        assert_eq!(Arc::<str>::from("red").into_state_name(), "red");
        assert_eq!(Cow::Borrowed("red").into_state_name(), "red");
    }
}
