//! Messages a bot sends by itself, outside the reply to a delivery: a reminder from a timer, a
//! notification from another system, a word to another conversation.

use async_trait::async_trait;

use crate::{BoxError, OutMessage};

/// Sends messages to conversations. The server implements it over its durable path (queued
/// in the conversation's order with its replies, retried, kept as a dead letter if it fails
/// for good); a handler reaches it through [`Context::send`](crate::Context::send).
#[async_trait]
pub trait Messenger: Send + Sync + 'static {
    /// Accepts `message` for `conversation` of `channel`, and returns the id it was accepted
    /// under once it is kept (on disk, with a durable store). It is sent after that.
    ///
    /// # Errors
    /// An unknown channel, one that cannot send, a full queue or a store that is down.
    async fn send(
        &self,
        channel: &str,
        conversation: &str,
        message: OutMessage,
    ) -> Result<String, BoxError>;
}

/// The messenger of contexts made without a server: it refuses, saying so.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoMessenger;

#[async_trait]
impl Messenger for NoMessenger {
    async fn send(&self, _: &str, _: &str, _: OutMessage) -> Result<String, BoxError> {
        Err("this context has no messenger: it was made without a server".into())
    }
}
