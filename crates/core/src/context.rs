//! What a handler knows about the delivery it is handling.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per-delivery facts for a handler: where the event came from, which conversation and state it
/// belongs to, and how long the handler has before the platform's deadline.
///
/// Cheap to clone: the strings are shared.
#[derive(Debug, Clone)]
pub struct Context {
    platform: &'static str,
    channel: Arc<str>,
    conversation: Arc<str>,
    delivery_id: Arc<str>,
    state: Arc<str>,
    deadline: Instant,
}

impl Context {
    /// A context for one delivery. `state` is the conversation's current state as the platform or
    /// the state store gave it (already resolved to the initial state when there was none).
    pub fn new(
        platform: &'static str,
        channel: Arc<str>,
        conversation: Arc<str>,
        delivery_id: Arc<str>,
        state: Arc<str>,
        deadline: Instant,
    ) -> Self {
        Self {
            platform,
            channel,
            conversation,
            delivery_id,
            state,
            deadline,
        }
    }

    /// The platform id (`funtek`, `chatwork`, …).
    pub fn platform(&self) -> &'static str {
        self.platform
    }

    /// The channel name (one mounted webhook; several channels may share a platform).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The conversation (room, group, chat) the event belongs to.
    pub fn conversation(&self) -> &str {
        &self.conversation
    }

    /// The delivery id botwire deduplicates on.
    pub fn delivery_id(&self) -> &str {
        &self.delivery_id
    }

    /// The conversation's current state.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The instant by which the answer must be on its way.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the handler has left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The same context in another state; the router uses it when it resolves the state.
    #[must_use]
    pub fn with_state(mut self, state: Arc<str>) -> Self {
        self.state = state;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_saturates_at_zero() {
        let past = Instant::now();
        let cx = Context::new("p", "c".into(), "r".into(), "d".into(), "s".into(), past);
        assert_eq!(cx.remaining(), Duration::ZERO);
        let cx = cx.with_state("t".into());
        assert_eq!(cx.state(), "t");
        assert_eq!(
            (
                cx.platform(),
                cx.channel(),
                cx.conversation(),
                cx.delivery_id()
            ),
            ("p", "c", "r", "d")
        );
    }
}
