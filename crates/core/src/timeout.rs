//! State timeouts: after a while without an event in a state, the conversation moves on by
//! itself, optionally saying something.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{Handler, IntoStateName, OutMessage, Reply, handler_fn};

/// What a state does after a while without an event: it moves to another state, saying what
/// its handler answers (if it has one). Declared with
/// [`BotBuilder::timeout`](crate::BotBuilder::timeout).
///
/// The handler gets an event of kind [`EventKind::TimedOut`](crate::EventKind::TimedOut) in a
/// context of the state that timed out; the conversation goes to the timeout's target whatever
/// its reply says.
///
/// ```
/// use std::time::Duration;
/// use botwire_core::StateTimeout;
///
/// let quiet = StateTimeout::new(Duration::from_secs(300), "idle").saying("Teaching timed out.");
/// assert_eq!((quiet.after(), quiet.target()), (Duration::from_secs(300), "idle"));
/// ```
#[derive(Clone)]
pub struct StateTimeout {
    after: Duration,
    to: Arc<str>,
    handler: Option<Arc<dyn Handler>>,
}

impl StateTimeout {
    /// After `after` without an event, go to `to`, saying nothing.
    #[must_use]
    pub fn new(after: Duration, to: impl IntoStateName) -> Self {
        Self {
            after,
            to: to.into_state_name().into(),
            handler: None,
        }
    }

    /// Says `message` when it times out.
    #[must_use]
    pub fn saying(self, message: impl Into<OutMessage>) -> Self {
        let message = message.into();
        self.with_handler(handler_fn(move |_cx, _event| {
            let reply = Reply::message(message.clone());
            async move { Ok(reply) }
        }))
    }

    /// Lets `handler` say what fits when it times out (it sees the conversation's data and
    /// the context); its transition is not used.
    #[must_use]
    pub fn with_handler(mut self, handler: impl Handler) -> Self {
        self.handler = Some(Arc::new(handler));
        self
    }

    /// How long without an event.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// The state it goes to.
    pub fn target(&self) -> &str {
        &self.to
    }

    pub(crate) fn handler(&self) -> Option<&Arc<dyn Handler>> {
        self.handler.as_ref()
    }

    /// The same timeout going to `to`: the bot's own copy of the target's name.
    pub(crate) fn with_target(mut self, to: Arc<str>) -> Self {
        self.to = to;
        self
    }
}

impl fmt::Debug for StateTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateTimeout")
            .field("after", &self.after)
            .field("to", &self.to)
            .field("says", &self.handler.is_some())
            .finish()
    }
}

/// `after 5m`, `after 1h30m`, `after 45s`: how the graph labels a timeout.
pub(crate) fn label(after: Duration) -> String {
    let mut left = after.as_secs();
    if left == 0 {
        return format!("after {}ms", after.as_millis());
    }
    let mut out = String::from("after ");
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_durations() {
        let label_of = |secs| label(Duration::from_secs(secs));
        assert_eq!(label_of(300), "after 5m");
        assert_eq!(label_of(5_400), "after 1h30m");
        assert_eq!(label_of(45), "after 45s");
        assert_eq!(label_of(90_061), "after 1d1h1m1s");
        assert_eq!(label(Duration::from_millis(250)), "after 250ms");
    }
}
