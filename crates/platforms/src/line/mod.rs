//! LINE Messaging API (platform id `line`): acknowledge at once, reply through the Reply API
//! while the event's reply token is fresh, else the Push API ([`LineOutbox`]).
//!
//! LINE POSTs `{destination, events: [...]}` signed with `x-line-signature`, the base64
//! HMAC-SHA256 of the raw body under the channel secret. One body holds any number of events,
//! and each is its own delivery (`webhookEventId`), claimed, deduplicated and queued on its
//! own; `deliveryContext.isRedelivery` is [`Event::is_redelivery`]. A body with no events (the
//! console's Verify button) is acknowledged. Conversations are the user's one-to-one chat, the
//! group or the room.

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Event, EventKind, Member, Message, MessageType};
use bytes::Bytes;
use http::request::Parts;

#[cfg(feature = "send-api")]
pub use outbox::LineOutbox;

use crate::auth::{HmacKeys, Secret, TagEncoding, verify_signature_header};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "line";
/// How long a duplicate waits for its original to be accepted (LINE wants a quick 200; the
/// acknowledgement goes out as soon as the events are queued).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-line-signature";
/// The acknowledgement body (LINE reads only the status).
pub const ACK: &[u8] = b"{}";
/// LINE's API base.
pub const DEFAULT_API_BASE: &str = "https://api.line.me";
/// How long after an event its reply token is used: LINE documents about a minute; past
/// this, replies go through the Push API.
pub const DEFAULT_REPLY_WINDOW: Duration = Duration::from_secs(50);

/// The settings a LINE channel reads.
const KEYS: [&str; 5] = [
    "secret",
    "access_token",
    "api_base",
    "reply_window",
    "deadline",
];

/// The LINE [`Platform`]: builds a [`LineAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Line;

/// One LINE channel's webhook.
#[derive(Debug, Clone)]
pub struct LineAdapter {
    keys: HmacKeys,
    deadline: Duration,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a LINE adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a LINE channel needs its channel secret")]
pub struct MissingSecret;

impl LineAdapter {
    /// An adapter verifying with any of `secrets` (several for rotation).
    ///
    /// # Errors
    /// [`MissingSecret`] when `secrets` is empty.
    pub fn new(secrets: &[Secret]) -> Result<Self, MissingSecret> {
        if secrets.is_empty() {
            return Err(MissingSecret);
        }
        Ok(Self {
            keys: HmacKeys::from_secrets(secrets),
            deadline: DEFAULT_DEADLINE,
            outbox: None,
        })
    }

    /// How long a duplicate waits for its original to be accepted (default 10 s).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sends replies through LINE's Reply and Push APIs.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: LineOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// The delivery of the event at `index` whose JSON is `raw`.
    fn inbound(&self, index: usize, destination: &str, raw: &str) -> Result<Inbound, Rejection> {
        let event: wire::WireEvent = json::parse(raw.as_bytes()).map_err(|r| at_event(index, r))?;
        let required = |field: &str| {
            Rejection::bad_request(
                "invalid_field",
                format!("missing field `events[{index}].{field}`"),
            )
        };
        if event.webhook_event_id.is_empty() {
            return Err(required("webhookEventId"));
        }
        let source = event.source.as_ref();
        // An event with no source (a delivery-completion notice) belongs to the bot itself.
        let conversation = match source {
            Some(source) => conversation_of(source).map_err(&required)?,
            None => destination.to_owned(),
        };
        let kind = match event.kind.as_str() {
            "message" => {
                let message = event.message.ok_or_else(|| required("message"))?;
                EventKind::Message(message_of(message))
            }
            "follow" => EventKind::MembersJoined(source.and_then(member_of).into_iter().collect()),
            "unfollow" => EventKind::MembersLeft(source.and_then(member_of).into_iter().collect()),
            "memberJoined" => {
                let joined = event.joined.ok_or_else(|| required("joined"))?;
                EventKind::MembersJoined(joined.members.iter().filter_map(member_of).collect())
            }
            "memberLeft" => {
                let left = event.left.ok_or_else(|| required("left"))?;
                EventKind::MembersLeft(left.members.iter().filter_map(member_of).collect())
            }
            // join, leave (the bot itself), postback, unsend, beacon, …: by LINE's own name.
            other => EventKind::Other(other.to_owned()),
        };
        let redelivered = event.delivery_context.is_some_and(|c| c.is_redelivery);
        let mut normalized = Event::new(kind)
            .with_payload(Bytes::copy_from_slice(raw.as_bytes()))
            .with_redelivery(redelivered);
        if let Some(sender) = source.and_then(member_of) {
            normalized = normalized.with_sender(sender);
        }
        Ok(Inbound::new(
            event.webhook_event_id,
            conversation,
            normalized,
        ))
    }
}

impl Platform for Line {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let Ok(mut adapter) = LineAdapter::new(&settings.secrets("secret")?) else {
            return Ok(None);
        };
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(send_api(adapter, settings)?)))
    }
}

/// The channel's send API, from `access_token` (and `api_base`, `reply_window`).
#[cfg(feature = "send-api")]
fn send_api(adapter: LineAdapter, settings: &ChannelSettings) -> Result<LineAdapter, SettingError> {
    let token = settings.secrets("access_token")?.into_iter().next();
    let base = settings.text("api_base")?.unwrap_or(DEFAULT_API_BASE);
    let window = settings.positive_duration("reply_window")?;
    let Some(token) = token else {
        if settings.text("api_base")?.is_some() || window.is_some() {
            return Err(settings.error("access_token", "missing: the Reply and Push APIs need it"));
        }
        tracing::warn!(
            channel = settings.name(),
            "no LINE channel access token (access_token): replies are only logged and kept in \
             the delivery log"
        );
        return Ok(adapter);
    };
    let mut outbox =
        LineOutbox::new(base, token).map_err(|e| settings.error("api_base", &e.to_string()))?;
    if let Some(window) = window {
        outbox = outbox.with_reply_window(window);
    }
    Ok(adapter.with_outbox(outbox))
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(adapter: LineAdapter, settings: &ChannelSettings) -> Result<LineAdapter, SettingError> {
    settings.refuse_without("send-api", &["access_token", "api_base", "reply_window"])?;
    Ok(adapter)
}

impl Adapter for LineAdapter {
    fn platform(&self) -> &'static str {
        ID
    }

    fn mode(&self) -> Mode {
        Mode::ViaApi
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, request: &Parts, body: &[u8]) -> Result<(), Rejection> {
        verify_signature_header(
            &request.headers,
            SIGNATURE_HEADER,
            b"",
            TagEncoding::Base64,
            &self.keys,
            &[body],
        )
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let envelope: wire::Body = json::parse(body.bytes())?;
        if envelope.events.is_empty() {
            return Ok(Parsed::Ignored {
                reason: "no events (LINE's webhook verification)",
            });
        }
        let alone = envelope.events.len() == 1;
        let destination = serde_json::Value::from(envelope.destination.as_str()).to_string();
        let mut batch = Vec::with_capacity(envelope.events.len());
        for (index, raw) in envelope.events.iter().enumerate() {
            let inbound = self.inbound(index, &envelope.destination, raw.get())?;
            // One event of several is stored as a body of its own, which parses to it alone.
            batch.push(if alone {
                inbound
            } else {
                let own = format!(
                    r#"{{"destination":{destination},"events":[{}]}}"#,
                    raw.get()
                );
                inbound.with_body(body.part(Bytes::from(own)))
            });
        }
        Ok(Parsed::Batch(batch))
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(ACK)
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// LINE's documented limit for the Reply and Push APIs: 2,000 requests a second per
    /// channel.
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: Some(Rate::new(2_000, Duration::from_secs(1))),
            conversation: None,
        }
    }
}

/// A rejection about event `index`, its field path made absolute.
fn at_event(index: usize, rejection: Rejection) -> Rejection {
    let message = rejection
        .message
        .replacen("field `", &format!("field `events[{index}]."), 1);
    Rejection::new(rejection.status, rejection.code, message)
}

/// The group, the room, or the user's one-to-one chat; or the field that should name it.
fn conversation_of(source: &wire::Source) -> Result<String, &'static str> {
    let (id, field) = match source.kind.as_str() {
        "group" => (source.group_id.as_ref(), "source.groupId"),
        "room" => (source.room_id.as_ref(), "source.roomId"),
        _ => (source.user_id.as_ref(), "source.userId"),
    };
    id.filter(|id| !id.is_empty()).cloned().ok_or(field)
}

/// The user an event came from or is about (LINE sends ids, never names).
fn member_of(source: &wire::Source) -> Option<Member> {
    source
        .user_id
        .as_ref()
        .filter(|id| !id.is_empty())
        .map(|id| Member::new(id.clone()))
}

fn message_of(message: wire::WireMessage) -> Message {
    let message_type = MessageType::from(message.kind.as_str());
    let body = match message_type {
        MessageType::Text => message.text,
        MessageType::File => message.file_name,
        MessageType::Location => message.address.or(message.title),
        MessageType::Sticker => message.sticker_id,
        _ => None,
    };
    Message::new(message_type, body.unwrap_or_default()).with_id(message.id)
}

#[cfg(test)]
mod tests;
