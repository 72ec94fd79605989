//! LINE webhook bodies as the Messaging API sends them (its reference's examples), one or many
//! events each, and its `x-line-signature`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire_platforms::auth::HmacKeys;
use botwire_platforms::line::SIGNATURE_HEADER;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post};

/// Marks LINE events.
#[derive(Debug, Clone, Copy)]
pub struct Line;

/// One LINE event under construction; defaults follow the reference (a user's one-to-one
/// chat with `U206d25c2ea6bd87c17655609a1c37cb8`, sent now, with a fresh reply token). Wrap
/// one or more in a body with [`body`].
pub type Event = crate::Event<Line>;

/// The user the events come from unless told otherwise.
pub const USER: &str = "U206d25c2ea6bd87c17655609a1c37cb8";
/// The bot's user id (`destination`).
pub const DESTINATION: &str = "Uc0ffee0000000000000000000000000b";

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn event(kind: &str) -> Event {
    Event::new(json!({
        "type": kind,
        "mode": "active",
        "timestamp": now_millis(),
        "source": { "type": "user", "userId": USER },
        "replyToken": fresh_id("rt"),
        "webhookEventId": fresh_id("01HLINE"),
        "deliveryContext": { "isRedelivery": false },
    }))
}

/// A text message with `text`.
pub fn message(text: &str) -> Event {
    event("message").set(
        "/message",
        json!({ "id": fresh_id(""), "type": "text", "text": text, "quoteToken": "q" }),
    )
}

/// A message of `kind` (`image`, `sticker`, `file`, …) without text.
pub fn media(kind: &str) -> Event {
    event("message").set("/message", json!({ "id": fresh_id(""), "type": kind }))
}

/// A user added the bot as a friend (or unblocked it).
pub fn follow() -> Event {
    event("follow").set("/follow", json!({ "isUnblocked": false }))
}

/// Users joined the group the event is in (see [`Event::group`]).
pub fn member_joined(user_ids: &[&str]) -> Event {
    let members: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({ "type": "user", "userId": id }))
        .collect();
    let event = event("memberJoined").set("/joined", json!({ "members": members }));
    strip_user(event)
}

/// Users left the group the event is in.
pub fn member_left(user_ids: &[&str]) -> Event {
    let members: Vec<Value> = user_ids
        .iter()
        .map(|id| json!({ "type": "user", "userId": id }))
        .collect();
    let mut event = event("memberLeft").set("/left", json!({ "members": members }));
    if let Some(map) = event.value.as_object_mut() {
        map.remove("replyToken");
    }
    strip_user(event)
}

/// A postback with `data`.
pub fn postback(data: &str) -> Event {
    event("postback").set("/postback", json!({ "data": data }))
}

/// Member events name no user in their source.
fn strip_user(mut event: Event) -> Event {
    if let Some(source) = event.value.get_mut("source").and_then(Value::as_object_mut) {
        source.remove("userId");
    }
    event
}

impl Event {
    /// Puts the event in group `group_id` (the user, if any, stays its sender).
    pub fn group(self, group_id: &str) -> Self {
        self.set("/source/type", "group")
            .set("/source/groupId", group_id)
    }

    /// Puts the event in multi-person room `room_id`.
    pub fn room(self, room_id: &str) -> Self {
        self.set("/source/type", "room")
            .set("/source/roomId", room_id)
    }

    /// Sets the sender (`source.userId`).
    pub fn from_user(self, user_id: &str) -> Self {
        self.set("/source/userId", user_id)
    }

    /// Sets the delivery id (`webhookEventId`).
    pub fn id(self, webhook_event_id: &str) -> Self {
        self.set("/webhookEventId", webhook_event_id)
    }

    /// Sets when it happened, in milliseconds since the epoch (an old event's reply token is
    /// no longer used).
    pub fn at_millis(self, timestamp: u64) -> Self {
        self.set("/timestamp", timestamp)
    }

    /// Marks it as a redelivery.
    pub fn redelivered(self) -> Self {
        self.set("/deliveryContext/isRedelivery", true)
    }

    /// The reply token.
    pub fn reply_token(&self) -> &str {
        self.value["replyToken"].as_str().unwrap_or_default()
    }

    /// The delivery id.
    pub fn webhook_event_id(&self) -> &str {
        self.value["webhookEventId"].as_str().unwrap_or_default()
    }
}

/// A webhook body holding `events`, in order (none: the console's verification).
pub fn body(events: &[Event]) -> Bytes {
    let events: Vec<&Value> = events.iter().map(Event::json).collect();
    Bytes::from(json!({ "destination": DESTINATION, "events": events }).to_string())
}

/// Signs LINE webhook bodies: `x-line-signature: base64(HMAC-SHA256(channel secret, body))`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    keys: HmacKeys,
}

impl Signer {
    /// Signs with the channel secret.
    pub fn new(channel_secret: &str) -> Self {
        Self {
            keys: HmacKeys::new([channel_secret.as_bytes()]),
        }
    }

    /// The signature header's value for `body`.
    pub fn signature(&self, body: &[u8]) -> String {
        BASE64.encode(self.keys.sign(&[body]).unwrap_or_default())
    }

    /// A signed POST of `body` (see [`body`]) to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        post(path, &[(SIGNATURE_HEADER, self.signature(&body))], body)
    }
}
