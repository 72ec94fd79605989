//! What a handler knows about the delivery it is handling.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::messenger::NoMessenger;
use crate::{BotState, BoxError, ConversationData, MemoryData, Messenger, OutMessage};

/// Per-delivery facts for a handler: where the event came from, which conversation and state it
/// belongs to, and how long the handler has before the platform's deadline.
///
/// Cheap to clone: the strings are shared.
#[derive(Clone)]
pub struct Context {
    platform: &'static str,
    channel: Arc<str>,
    conversation: Arc<str>,
    delivery_id: Arc<str>,
    state: Arc<str>,
    deadline: Instant,
    /// A test's virtual now; `None` is the real clock.
    now: Option<Instant>,
    data: Arc<dyn ConversationData>,
    messenger: Arc<dyn Messenger>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("platform", &self.platform)
            .field("channel", &self.channel)
            .field("conversation", &self.conversation)
            .field("delivery_id", &self.delivery_id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The data of contexts made without a store (tests, embedding): one per process.
fn process_data() -> Arc<dyn ConversationData> {
    static DATA: OnceLock<Arc<MemoryData>> = OnceLock::new();
    DATA.get_or_init(Arc::default).clone()
}

/// What a [`Context`] is made of: where one delivery comes from and how long its handler has.
/// Its fields are named, so that five strings cannot be passed in the wrong order.
///
/// ```
/// use std::time::{Duration, Instant};
/// use botwire_core::{Context, ContextParts};
///
/// let cx = Context::from_parts(ContextParts {
///     platform: "funtek",
///     channel: "support".into(),
///     conversation: "room-1".into(),
///     delivery_id: "msg-42".into(),
///     state: "idle".into(),
///     deadline: Instant::now() + Duration::from_secs(5),
/// });
/// assert_eq!((cx.channel(), cx.conversation(), cx.state()), ("support", "room-1", "idle"));
/// ```
#[derive(Debug, Clone)]
pub struct ContextParts {
    /// The platform id (`funtek`, …).
    pub platform: &'static str,
    /// The channel the delivery came in on.
    pub channel: Arc<str>,
    /// The conversation (room, group, chat) it belongs to.
    pub conversation: Arc<str>,
    /// The platform's id of this delivery.
    pub delivery_id: Arc<str>,
    /// The conversation's current state as the platform or the state store gave it (already
    /// resolved to the initial state when there was none).
    pub state: Arc<str>,
    /// When the handler's time is up.
    pub deadline: Instant,
}

impl From<ContextParts> for Context {
    fn from(parts: ContextParts) -> Self {
        Self::from_parts(parts)
    }
}

impl Context {
    /// A context for one delivery, with the process's own conversation data and no messenger
    /// (the server gives its store and messenger with [`with_data`](Self::with_data) and
    /// [`with_messenger`](Self::with_messenger)).
    pub fn from_parts(parts: ContextParts) -> Self {
        let ContextParts {
            platform,
            channel,
            conversation,
            delivery_id,
            state,
            deadline,
        } = parts;
        Self {
            platform,
            channel,
            conversation,
            delivery_id,
            state,
            deadline,
            now: None,
            data: process_data(),
            messenger: Arc::new(NoMessenger),
        }
    }

    /// A context for one delivery, from its parts in this order.
    #[deprecated(
        since = "0.1.0",
        note = "use Context::from_parts: its named fields cannot be swapped"
    )]
    pub fn new(
        platform: &'static str,
        channel: Arc<str>,
        conversation: Arc<str>,
        delivery_id: Arc<str>,
        state: Arc<str>,
        deadline: Instant,
    ) -> Self {
        Self::from_parts(ContextParts {
            platform,
            channel,
            conversation,
            delivery_id,
            state,
            deadline,
        })
    }

    /// The same context keeping the conversation's data in `data` (the server gives its store).
    #[must_use]
    pub fn with_data(mut self, data: Arc<dyn ConversationData>) -> Self {
        self.data = data;
        self
    }

    /// The same context with a virtual clock standing at `now` (conversation tests move it
    /// by hand); without it [`now`](Self::now) is the real clock.
    #[must_use]
    pub fn with_now(mut self, now: Instant) -> Self {
        self.now = Some(now);
        self
    }

    /// What the handler should take as the current time: the real clock, or a test's virtual
    /// one. Handlers and middleware that measure time (a rate limit, say) read it here, so a
    /// test can move time without waiting.
    pub fn now(&self) -> Instant {
        self.now.unwrap_or_else(Instant::now)
    }

    /// The same context sending proactive messages through `messenger` (the server gives its
    /// own).
    #[must_use]
    pub fn with_messenger(mut self, messenger: Arc<dyn Messenger>) -> Self {
        self.messenger = messenger;
        self
    }

    /// Sends `message` to this conversation by itself, after this delivery's reply: queued in
    /// the conversation's order, retried, never lost once this returns. Returns the id it was
    /// accepted under.
    ///
    /// # Errors
    /// When the channel cannot send (no send API), the queue is full or the store is down.
    pub async fn send(&self, message: impl Into<OutMessage>) -> Result<String, BoxError> {
        self.messenger
            .send(&self.channel, &self.conversation, message.into())
            .await
    }

    /// Sends `message` to another conversation, of this channel or another.
    ///
    /// # Errors
    /// As [`send`](Self::send), and for a channel that is not mounted.
    pub async fn send_to(
        &self,
        channel: &str,
        conversation: &str,
        message: impl Into<OutMessage>,
    ) -> Result<String, BoxError> {
        self.messenger
            .send(channel, conversation, message.into())
            .await
    }

    /// What the bot remembered under `key` in this conversation.
    ///
    /// # Errors
    /// When the store is unavailable; returned from a handler, the delivery is retried.
    pub async fn recall(&self, key: &str) -> Result<Option<String>, BoxError> {
        self.data.get(&self.channel, &self.conversation, key).await
    }

    /// Remembers `value` under `key` in this conversation (on disk before this returns, with a
    /// durable store).
    ///
    /// # Errors
    /// As [`recall`](Self::recall).
    pub async fn remember(&self, key: &str, value: &str) -> Result<(), BoxError> {
        self.data
            .set(&self.channel, &self.conversation, key, value)
            .await
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

    /// The conversation's current state as a value of the bot's [`BotState`] type; `None`
    /// when the name is not one of its (a state kept from an older version of the bot).
    pub fn state_as<S: BotState>(&self) -> Option<S> {
        S::from_name(&self.state)
    }

    /// The instant by which the answer must be on its way.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the handler has left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(self.now())
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

    fn parts(deadline: Instant) -> ContextParts {
        ContextParts {
            platform: "p",
            channel: "c".into(),
            conversation: "r".into(),
            delivery_id: "d".into(),
            state: "s".into(),
            deadline,
        }
    }

    impl ContextParts {
        fn into_context(self) -> Context {
            Context::from(self)
        }
    }

    #[test]
    #[allow(deprecated)]
    fn the_positional_constructor_keeps_its_order() {
        let at = Instant::now();
        let old = Context::new("p", "c".into(), "r".into(), "d".into(), "s".into(), at);
        let new = Context::from_parts(parts(at));
        assert_eq!(format!("{old:?}"), format!("{new:?}"));
    }

    #[tokio::test]
    async fn without_a_server_sending_is_refused_with_a_reason() {
        let cx = parts(Instant::now()).into_context();
        let error = cx.send("hi").await.expect_err("no messenger");
        assert!(error.to_string().contains("no messenger"), "{error}");
        assert!(cx.send_to("c", "r2", "hi").await.is_err());
    }

    #[test]
    fn remaining_saturates_at_zero() {
        let past = Instant::now();
        let cx = parts(past).into_context();
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
