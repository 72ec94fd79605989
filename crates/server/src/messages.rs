//! Proactive messages: what a bot says by itself, from a timer, another service or another
//! conversation's handler. [`Messages`] queues each as a [`SendJob`] in its conversation's
//! lane and returns once the queue holds it; the workers send it through the channel's
//! outbox like any reply.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use botwire_core::{BoxError, Messenger, OutMessage, Reply};
use botwire_store::{NewJob, Queue, StoreError};

use crate::route::Route;
use crate::send_job::SendJob;

/// The longest conversation id accepted (the platforms' ids are far shorter).
const MAX_CONVERSATION: usize = 512;

/// Sends messages by themselves to any conversation of a mounted channel. Cheap to clone; get
/// one from [`Running::messages`](crate::Running::messages) or [`App::messages`], and in a
/// handler use [`Context::send`](botwire_core::Context::send).
///
/// A reminder from a timer, to a Kamigo group whose replies go to the bot's own outbox:
///
/// ```
/// # use botwire_core::{Bot, Reply, handler_fn};
/// # use botwire_platforms::auth::Secret;
/// # use botwire_platforms::kamigo::KamigoAdapter;
/// # use botwire_platforms::{Outbox, OutboxError, Outgoing};
/// # use botwire_server::{Channel, Server};
/// # use tokio::sync::mpsc;
/// /// Hands every message to a channel here; a real outbox calls the platform.
/// #[derive(Debug)]
/// struct Chat(mpsc::UnboundedSender<String>);
///
/// #[async_trait::async_trait]
/// impl Outbox for Chat {
///     async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
///         let text = outgoing.reply.out_message().map(|m| m.body().to_owned());
///         self.0.send(text.unwrap_or_default()).map_err(|e| OutboxError::transient(e.to_string()))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let bot = Bot::builder()
/// #     .initial("idle")
/// #     .state("idle", handler_fn(|_cx, _ev| async { Ok(Reply::none()) }))
/// #     .build()?;
/// let (chat, mut group) = mpsc::unbounded_channel();
/// let kamigo = KamigoAdapter::new(&[Secret::new("signing-secret")])?;
/// let running = Server::new()
///     .listen("127.0.0.1:0".parse()?)
///     .without_admin()
///     .channel(Channel::new("kamigo", kamigo))
///     .outbox(Chat(chat))
///     .bot(bot)
///     .bind()
///     .await?;
///
/// let messages = running.messages();
/// tokio::spawn(async move {
///     // Every morning, in a real bot: `tokio::time::interval(Duration::from_secs(86_400))`.
///     messages.send("kamigo", "C123", "Stand-up in 10 minutes").await
/// });
///
/// assert_eq!(group.recv().await.as_deref(), Some("Stand-up in 10 minutes"));
/// running.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Messages {
    /// The mounted channels, by name.
    channels: Arc<HashMap<Arc<str>, Arc<Route>>>,
    queue: Arc<dyn Queue>,
}

/// Why a message was not accepted. Nothing was queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No channel of this name is mounted.
    #[error("no channel named {0:?} is mounted")]
    UnknownChannel(String),
    /// The channel has nothing that reaches its platform by itself (no send API or outbox
    /// configured, or a platform that only answers deliveries): the message would only be
    /// logged, or fail.
    #[error(
        "channel {0:?} cannot send by itself: configure its send API or an outbox_url (a platform \
         that only answers, such as Discord's interactions, never can)"
    )]
    CannotSend(String),
    /// The text is empty, or the conversation is empty or too long.
    #[error("{0}")]
    Invalid(&'static str),
    /// Too many jobs are waiting; try again later.
    #[error("too many messages are waiting (capacity {capacity}); retry later")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The store is down.
    #[error("the store is unavailable: {0}")]
    Unavailable(StoreError),
}

impl Messages {
    pub(crate) fn new(channels: Arc<HashMap<Arc<str>, Arc<Route>>>, queue: Arc<dyn Queue>) -> Self {
        Self { channels, queue }
    }

    /// Queues `message` for `conversation` of `channel`, after what that conversation already
    /// has queued, and returns its id once the queue holds it (on disk, with a durable store).
    ///
    /// # Errors
    /// See [`SendError`]; nothing was queued.
    pub async fn send(
        &self,
        channel: &str,
        conversation: &str,
        message: impl Into<OutMessage>,
    ) -> Result<String, SendError> {
        let message = message.into();
        if message.body().is_empty() {
            return Err(SendError::Invalid("the message has no text"));
        }
        if conversation.is_empty() || conversation.len() > MAX_CONVERSATION {
            return Err(SendError::Invalid(
                "the conversation must be 1 to 512 bytes long",
            ));
        }
        let route = self
            .channels
            .get(channel)
            .ok_or_else(|| SendError::UnknownChannel(channel.to_owned()))?;
        if !route.outbox.speaks_first() {
            return Err(SendError::CannotSend(channel.to_owned()));
        }
        let job = SendJob::proactive(Reply::message(message));
        let new = NewJob::new(channel, conversation, &job.message_id, job.encode());
        match self.queue.push(new).await {
            Ok(_) => {
                tracing::info!(channel, conversation, id = %job.message_id, "message queued");
                Ok(job.message_id)
            }
            Err(StoreError::QueueFull { capacity }) => Err(SendError::QueueFull { capacity }),
            Err(error) => Err(SendError::Unavailable(error)),
        }
    }
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages").finish_non_exhaustive()
    }
}

#[async_trait]
impl Messenger for Messages {
    async fn send(
        &self,
        channel: &str,
        conversation: &str,
        message: OutMessage,
    ) -> Result<String, BoxError> {
        Ok(Messages::send(self, channel, conversation, message).await?)
    }
}
