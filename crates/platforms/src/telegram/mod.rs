//! Telegram Bot API (platform id `telegram`): the reply in the webhook's answer, as a
//! `sendMessage` method call, when the handler is in time; through the Bot API
//! ([`TelegramOutbox`]) when it is late, and for messages the bot sends by itself.
//!
//! Telegram POSTs one `Update` per request with `X-Telegram-Bot-Api-Secret-Token`, the
//! `secret_token` given to `setWebhook`, compared here in constant time. It resends an update
//! that was not answered with a 2xx, with backoff; `update_id` is the delivery id.
//! Conversations are chats (`chat.id`).

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Event, EventKind, Member, Message, MessageType, Reply};
use bytes::Bytes;
use http::request::Parts;
use serde_json::Value;

#[cfg(feature = "send-api")]
pub use outbox::TelegramOutbox;

use crate::auth::{Secret, TokenSet, single_header};
use crate::text::first_chars;
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "telegram";
/// How long the handler may take before the webhook is answered without the reply (which then
/// goes through the Bot API). Telegram documents no timeout of its own.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// The header carrying the webhook's secret token.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The Bot API's base.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// The most characters one message holds.
pub const TEXT_LIMIT: usize = 4_096;

/// The settings a Telegram channel reads.
const KEYS: [&str; 4] = ["secret", "bot_token", "api_base", "deadline"];

/// The Telegram [`Platform`]: builds a [`TelegramAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Telegram;

/// One Telegram bot's webhook.
#[derive(Debug, Clone)]
pub struct TelegramAdapter {
    secrets: TokenSet,
    deadline: Duration,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a Telegram adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSecret {
    /// None was given.
    #[error("a Telegram channel needs the webhook's secret token")]
    Missing,
    /// One is not what `setWebhook` accepts.
    #[error("a Telegram secret token is 1 to 256 of A-Z, a-z, 0-9, _ and -")]
    Malformed,
}

impl TelegramAdapter {
    /// An adapter accepting any of `secrets` (the `secret_token` of `setWebhook`; several
    /// while one replaces another).
    ///
    /// # Errors
    /// When there is none, or one is not what `setWebhook` accepts (1–256 of `A-Za-z0-9_-`).
    pub fn new(secrets: &[Secret]) -> Result<Self, InvalidSecret> {
        if secrets.is_empty() {
            return Err(InvalidSecret::Missing);
        }
        let well_formed = |secret: &Secret| {
            let text = secret.expose();
            (1..=256).contains(&text.len())
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !secrets.iter().all(well_formed) {
            return Err(InvalidSecret::Malformed);
        }
        Ok(Self {
            secrets: TokenSet::new(secrets),
            deadline: DEFAULT_DEADLINE,
            outbox: None,
        })
    }

    /// How long the handler may take before the webhook is answered without its reply
    /// (default 5 s).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sends late replies and proactive messages through the Bot API.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: TelegramOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }
}

impl Platform for Telegram {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let mut adapter = match TelegramAdapter::new(&settings.secrets("secret")?) {
            Ok(adapter) => adapter,
            Err(InvalidSecret::Missing) => return Ok(None),
            Err(error) => return Err(settings.error("secret", &error.to_string())),
        };
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(send_api(adapter, settings)?)))
    }
}

/// The channel's Bot API client, from `bot_token` (and `api_base`).
#[cfg(feature = "send-api")]
fn send_api(
    adapter: TelegramAdapter,
    settings: &ChannelSettings,
) -> Result<TelegramAdapter, SettingError> {
    let Some(token) = settings.secrets("bot_token")?.into_iter().next() else {
        if settings.text("api_base")?.is_some() {
            return Err(settings.error("bot_token", "missing: the Bot API needs the bot's token"));
        }
        tracing::warn!(
            channel = settings.name(),
            "no Telegram bot token (bot_token): a late reply is lost and proactive messages \
             are refused; replies in time still go out in the webhook's answer"
        );
        return Ok(adapter);
    };
    let base = settings.text("api_base")?.unwrap_or(DEFAULT_API_BASE);
    let outbox =
        TelegramOutbox::new(base, token).map_err(|e| settings.error("api_base", &e.to_string()))?;
    Ok(adapter.with_outbox(outbox))
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(
    adapter: TelegramAdapter,
    settings: &ChannelSettings,
) -> Result<TelegramAdapter, SettingError> {
    settings.refuse_without("send-api", &["bot_token", "api_base"])?;
    Ok(adapter)
}

impl Adapter for TelegramAdapter {
    fn platform(&self) -> &'static str {
        ID
    }

    fn mode(&self) -> Mode {
        Mode::InResponse
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, request: &Parts, _body: &[u8]) -> Result<(), Rejection> {
        let presented = single_header(&request.headers, SECRET_HEADER, "invalid_token")?
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "missing_token",
                    "no X-Telegram-Bot-Api-Secret-Token header",
                )
            })?;
        if self.secrets.matches(presented) {
            Ok(())
        } else {
            Err(Rejection::unauthorized(
                "invalid_token",
                "the secret token is not accepted",
            ))
        }
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let update: wire::Update = json::parse(&body)?;
        let delivery_id = update.update_id.to_string();
        let (conversation, kind, sender) = if let Some(message) = update.message {
            message_event(message)
        } else if let Some(post) = update.channel_post {
            message_event(post)
        } else if let Some(edited) = update.edited_message.or(update.edited_channel_post) {
            let sender = edited.from.as_ref().map(member_of);
            let kind = EventKind::Other("edited_message".to_owned());
            (edited.chat.id, kind, sender)
        } else if let Some(query) = update.callback_query {
            // An inline message's button has no chat: the user's own chat with the bot.
            let chat = query.message.map_or(query.from.id, |m| m.chat.id);
            let kind = EventKind::Other("callback_query".to_owned());
            (chat, kind, Some(member_of(&query.from)))
        } else if let Some(change) = update.chat_member {
            let kind = membership(&change);
            (change.chat.id, kind, Some(member_of(&change.from)))
        } else if let Some(change) = update.my_chat_member {
            let kind = EventKind::Other("my_chat_member".to_owned());
            (change.chat.id, kind, Some(member_of(&change.from)))
        } else {
            return other_update(&body, delivery_id);
        };
        let mut event = Event::new(kind).with_payload(body);
        if let Some(sender) = sender {
            event = event.with_sender(sender);
        }
        Ok(Parsed::Event(Box::new(Inbound::new(
            delivery_id,
            conversation.to_string(),
            event,
        ))))
    }

    /// `sendMessage` to the chat, with the first 4,096 characters (what one message holds; a
    /// method call in the answer cannot send more, nor say whether it was sent). With nothing
    /// to say to a button press, `answerCallbackQuery`, so its spinner stops.
    fn render_to(&self, delivery: &Inbound, reply: &Reply, _next_state: Option<&str>) -> Bytes {
        let body = match reply.out_message().map(|m| m.body()) {
            Some(text) if !text.is_empty() => serde_json::to_vec(&wire::SendMessage {
                method: Some("sendMessage"),
                chat_id: wire::ChatId::of(&delivery.conversation),
                text: first_chars(text, TEXT_LIMIT),
            }),
            _ => match callback_id(&delivery.event) {
                Some(id) => serde_json::to_vec(&wire::AnswerCallbackQuery {
                    method: "answerCallbackQuery",
                    callback_query_id: &id,
                }),
                None => return self.no_op(),
            },
        };
        body.map_or_else(|_| self.no_op(), Bytes::from)
    }

    /// Telegram reads nothing from an empty answer.
    fn no_op(&self) -> Bytes {
        Bytes::new()
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// Telegram's documented limits: about 30 messages a second in all, and 20 a minute in
    /// one group (private chats allow short bursts, which this stays under).
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: Some(Rate::new(30, Duration::from_secs(1))),
            conversation: Some(Rate::new(20, Duration::from_secs(60))),
        }
    }
}

/// A message: members joining or leaving, or something posted.
fn message_event(message: wire::WireMessage) -> (i64, EventKind, Option<Member>) {
    let sender = message.from.as_ref().map(member_of);
    let kind = if let Some(joined) = &message.new_chat_members {
        EventKind::MembersJoined(joined.iter().map(member_of).collect())
    } else if let Some(left) = &message.left_chat_member {
        EventKind::MembersLeft(vec![member_of(left)])
    } else {
        EventKind::Message(message_of(&message))
    };
    (message.chat.id, kind, sender)
}

fn message_of(message: &wire::WireMessage) -> Message {
    let caption = || message.caption.clone().unwrap_or_default();
    let (message_type, body) = if let Some(text) = &message.text {
        (MessageType::Text, text.clone())
    } else if message.photo.is_some() {
        (MessageType::Image, caption())
    } else if message.video.is_some() || message.animation.is_some() {
        (MessageType::Video, caption())
    } else if message.voice.is_some() || message.audio.is_some() {
        (MessageType::Audio, caption())
    } else if let Some(document) = &message.document {
        (
            MessageType::File,
            document.file_name.clone().unwrap_or_default(),
        )
    } else if message.location.is_some() {
        (MessageType::Location, String::new())
    } else if let Some(sticker) = &message.sticker {
        (
            MessageType::Sticker,
            sticker.emoji.clone().unwrap_or_default(),
        )
    } else {
        // A poll, a contact, a service message: by the kind's absence of any of the above.
        (MessageType::Other("message".to_owned()), caption())
    };
    Message::new(message_type, body).with_id(message.message_id.to_string())
}

/// A member's change of status: into the chat, out of it, or something else.
fn membership(change: &wire::ChatMemberUpdated) -> EventKind {
    let inside = |status: &str| {
        matches!(
            status,
            "member" | "administrator" | "creator" | "restricted"
        )
    };
    let user = member_of(&change.new_chat_member.user);
    match (
        inside(&change.old_chat_member.status),
        inside(&change.new_chat_member.status),
    ) {
        (false, true) => EventKind::MembersJoined(vec![user]),
        (true, false) => EventKind::MembersLeft(vec![user]),
        _ => EventKind::Other("chat_member".to_owned()),
    }
}

/// An update of a kind not read above (a poll answer, a reaction, a join request, …): an
/// `Other` event by its key when it names a chat or a user, otherwise acknowledged unrouted.
fn other_update(body: &Bytes, delivery_id: String) -> Result<Parsed, Rejection> {
    let update: serde_json::Map<String, Value> = json::parse(body)?;
    let Some((kind, inner)) = update.iter().find(|(key, _)| *key != "update_id") else {
        return Ok(Parsed::Ignored {
            reason: "an update of no kind",
        });
    };
    let chat = inner
        .pointer("/chat/id")
        .or_else(|| inner.pointer("/user/id"));
    let chat = chat
        .or_else(|| inner.pointer("/from/id"))
        .and_then(Value::as_i64);
    let Some(chat) = chat else {
        return Ok(Parsed::Ignored {
            reason: "an update with no chat or user to route by",
        });
    };
    let event = Event::new(EventKind::Other(kind.clone())).with_payload(body.clone());
    Ok(Parsed::Event(Box::new(Inbound::new(
        delivery_id,
        chat.to_string(),
        event,
    ))))
}

fn member_of(user: &wire::User) -> Member {
    let name = match (&user.first_name, &user.last_name) {
        (Some(first), Some(last)) if !last.is_empty() => Some(format!("{first} {last}")),
        (Some(first), _) if !first.is_empty() => Some(first.clone()),
        _ => user.username.clone(),
    };
    let member = Member::new(user.id.to_string()).with_bot(user.is_bot);
    match name {
        Some(name) => member.with_name(name),
        None => member,
    }
}

/// The id of the callback query `event` is, if it is one.
fn callback_id(event: &Event) -> Option<String> {
    if event.kind() != &EventKind::Other("callback_query".to_owned()) {
        return None;
    }
    let answering: wire::Answering = event.payload().ok()?;
    Some(answering.callback_query?.id)
}

#[cfg(test)]
mod tests;
