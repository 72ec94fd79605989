//! Delivering replies through a platform's API, for platforms that do not read them from the
//! HTTP response.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use botwire_core::{Event, Reply};

/// A reply on its way out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outgoing {
    /// The channel the delivery came in on.
    pub channel: String,
    /// The platform id.
    pub platform: &'static str,
    /// The conversation to reply in (room, group or chat id).
    pub conversation: String,
    /// The delivery this answers.
    pub delivery_id: String,
    /// The event it answers; its payload carries any platform field an outbox needs.
    pub event: Event,
    /// What the handler answered.
    pub reply: Reply,
}

impl Outgoing {
    /// A reply to `event` of delivery `delivery_id`, in `conversation` of `channel`.
    pub fn new(
        channel: impl Into<String>,
        platform: &'static str,
        conversation: impl Into<String>,
        delivery_id: impl Into<String>,
        event: Event,
        reply: Reply,
    ) -> Self {
        Self {
            channel: channel.into(),
            platform,
            conversation: conversation.into(),
            delivery_id: delivery_id.into(),
            event,
            reply,
        }
    }

    /// The reply's text, when it has a message.
    pub fn text(&self) -> Option<&str> {
        self.reply.out_message().map(|m| m.body())
    }
}

/// Sends replies to a platform. botwire retries an [`OutboxError::transient`] failure with
/// backoff (or after the time the error asks for), and dead-letters a permanent one.
///
/// Implementations see one reply at a time per conversation, in order.
#[async_trait]
pub trait Outbox: fmt::Debug + Send + Sync + 'static {
    /// Sends one reply.
    ///
    /// # Errors
    /// Transient (retry later) or permanent (do not retry) failures; the message must not carry
    /// secrets such as API tokens.
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError>;
}

/// Why a reply could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutboxError {
    transient: bool,
    retry_after: Option<Duration>,
    message: String,
}

impl OutboxError {
    /// A failure that may pass: a timeout, a 5xx, a rate limit.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            transient: true,
            retry_after: None,
            message: message.into(),
        }
    }

    /// A failure that retrying will not fix: a refused token, an unknown room.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            retry_after: None,
            message: message.into(),
        }
    }

    /// Asks to retry no sooner than `after` (a rate limit's reset time).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// How long the platform asked to wait before the next try.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// The outbox of platforms with no reply API: logs each reply. The server also keeps it in
/// the delivery log, where it can be read.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogOutbox;

#[async_trait]
impl Outbox for LogOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        tracing::info!(
            channel = %outgoing.channel,
            conversation = %outgoing.conversation,
            delivery_id = %outgoing.delivery_id,
            reply = outgoing.text().unwrap_or_default(),
            "reply kept in the delivery log (no outbox sends it for this platform)"
        );
        Ok(())
    }
}
