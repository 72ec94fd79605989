//! Kamigo deliveries as Kamigo sends them (the seed's examples), and its signature.

use botwire_platforms::auth::HmacKeys;
use botwire_platforms::kamigo::SIGNATURE_HEADER;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post};

/// Marks Kamigo deliveries.
#[derive(Debug, Clone, Copy)]
pub struct Kamigo;

/// A Kamigo delivery under construction; defaults follow the seed (channel `C1234567890`,
/// sender `U1234567890` 王小明).
pub type Event = crate::Event<Kamigo>;

const CHANNEL: &str = "C1234567890";
const TIMESTAMP: &str = "2025-01-15T08:30:00Z";

fn user(id: &str, name: &str) -> Value {
    json!({ "userId": id, "displayName": name })
}

/// A `message.received` with `text` and a fresh message id.
pub fn message(text: &str) -> Event {
    Event::new(json!({
        "event": "message.received",
        "timestamp": TIMESTAMP,
        "data": {
            "channelId": CHANNEL,
            "messageId": fresh_id("msg_"),
            "sender": user("U1234567890", "王小明"),
            "type": "text",
            "content": text,
        }
    }))
}

/// A `member.joined` of the member `name` (id derived from it).
pub fn member_joined(name: &str) -> Event {
    member_event("member.joined", name)
}

/// A `member.left` of the member `name`.
pub fn member_left(name: &str) -> Event {
    member_event("member.left", name)
}

/// A `file.uploaded` of a file of type `file_type` (`image`, …).
pub fn file_uploaded(file_type: &str) -> Event {
    Event::new(json!({
        "event": "file.uploaded",
        "timestamp": TIMESTAMP,
        "data": {
            "channelId": CHANNEL,
            "messageId": fresh_id("msg_"),
            "sender": user("U1234567890", "王小明"),
            "fileType": file_type,
            "fileSize": 102_400,
        }
    }))
}

fn member_event(event: &str, name: &str) -> Event {
    // Each member event is its own delivery: Kamigo tells them apart by time.
    let timestamp = format!("2025-01-15T08:30:00.{}Z", fresh_id(""));
    Event::new(json!({
        "event": event,
        "timestamp": timestamp,
        "data": {
            "channelId": CHANNEL,
            "member": user(&format!("U-{}", name.to_lowercase()), name),
        }
    }))
}

impl Event {
    /// Puts the event in group `channel_id`.
    pub fn room(self, channel_id: &str) -> Self {
        self.set("/data/channelId", channel_id)
    }

    /// Sets the message id.
    pub fn id(self, message_id: &str) -> Self {
        self.set("/data/messageId", message_id)
    }

    /// Sets the sender.
    pub fn sender(self, user_id: &str, name: &str) -> Self {
        self.set("/data/sender", user(user_id, name))
    }
}

/// Signs Kamigo deliveries: `X-Webhook-Signature: sha256=<hex HMAC of the body>`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    keys: HmacKeys,
}

impl Signer {
    /// Signs with `secret`.
    pub fn new(secret: &str) -> Self {
        Self {
            keys: HmacKeys::new([secret.as_bytes()]),
        }
    }

    /// The signature header's value for `body`.
    pub fn signature(&self, body: &[u8]) -> String {
        let tag = self.keys.sign(&[body]).unwrap_or_default();
        format!("sha256={}", hex::encode(tag))
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        post(path, &[(SIGNATURE_HEADER, self.signature(&body))], body)
    }
}
