//! Delivering replies through a platform's API, for platforms that do not read them from the
//! HTTP response.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use botwire_core::{Event, Reply};

/// A message on its way out: a reply to a delivery, or a message the bot sends by itself
/// (proactive: from a timer, another service, another conversation's handler).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outgoing {
    /// The channel it goes out on.
    pub channel: String,
    /// The platform id.
    pub platform: &'static str,
    /// The conversation to send to (room, group or chat id).
    pub conversation: String,
    /// The delivery this answers; `None` for a proactive message.
    pub delivery_id: Option<String>,
    /// The event it answers, whose payload carries any platform field an outbox needs (the
    /// member to mention); `None` for a proactive message.
    pub event: Option<Event>,
    /// What to send.
    pub reply: Reply,
    /// A stable id for this message, the same on every attempt: derived from the delivery
    /// it answers, or given to a proactive message when it was accepted. An outbox whose
    /// platform takes a client-chosen id (IMKit's `_id`, Standard Webhooks' `webhook-id`)
    /// sends it, so a resend is recognised rather than posted twice.
    pub message_id: String,
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
        let delivery_id = delivery_id.into();
        Self {
            channel: channel.into(),
            platform,
            conversation: conversation.into(),
            message_id: format!("reply-{delivery_id}"),
            delivery_id: Some(delivery_id),
            event: Some(event),
            reply,
        }
    }

    /// A message the bot sends by itself to `conversation` of `channel`, with the id it was
    /// accepted under.
    pub fn proactive(
        channel: impl Into<String>,
        platform: &'static str,
        conversation: impl Into<String>,
        message_id: impl Into<String>,
        reply: Reply,
    ) -> Self {
        Self {
            channel: channel.into(),
            platform,
            conversation: conversation.into(),
            delivery_id: None,
            event: None,
            reply,
            message_id: message_id.into(),
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

    /// Whether what it is given reaches the platform (or the user's service). `false` for the
    /// log, so that the server refuses proactive messages it could not deliver and counts a
    /// late reply it cannot send as lost, rather than pretend.
    fn delivers(&self) -> bool {
        true
    }

    /// Whether it can send a message that answers no delivery (a proactive message, a state
    /// timeout's). `false` where the platform only takes answers (a Discord interaction's
    /// follow-up needs the interaction's token): the server refuses such a message up front
    /// (`SendError::CannotSend`) rather than let it fail later.
    fn speaks_first(&self) -> bool {
        self.delivers()
    }
}

/// Why a reply could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutboxError {
    transient: bool,
    rate_limited: bool,
    retry_after: Option<Duration>,
    message: String,
}

impl OutboxError {
    /// A failure that may pass: a timeout, a 5xx, a rate limit.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            transient: true,
            rate_limited: false,
            retry_after: None,
            message: message.into(),
        }
    }

    /// Not a failure: the platform's rate limit (or the client-side limiter in front of it)
    /// says to send again after `after`. The worker waits and tries again without counting a
    /// failed attempt, so a limit never turns a reply into a dead letter.
    pub fn rate_limited(message: impl Into<String>, after: Duration) -> Self {
        Self {
            transient: true,
            rate_limited: true,
            retry_after: Some(after),
            message: message.into(),
        }
    }

    /// A failure that retrying will not fix: a refused token, an unknown room.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            transient: false,
            rate_limited: false,
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

    /// Whether this is a rate limit to wait out rather than a failure.
    pub fn is_rate_limited(&self) -> bool {
        self.rate_limited
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
            delivery_id = outgoing.delivery_id.as_deref().unwrap_or("(proactive)"),
            reply = outgoing.text().unwrap_or_default(),
            "reply kept in the delivery log (no outbox sends it for this platform)"
        );
        Ok(())
    }

    fn delivers(&self) -> bool {
        false
    }
}
