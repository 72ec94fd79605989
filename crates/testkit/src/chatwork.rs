//! Chatwork deliveries as Chatwork sends them, and its signature (header or query parameter).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire_platforms::auth::HmacKeys;
use botwire_platforms::chatwork::{SIGNATURE_HEADER, SIGNATURE_PARAM};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::json;

use crate::event::{fresh_id, post, with_query};

/// Marks Chatwork deliveries.
#[derive(Debug, Clone, Copy)]
pub struct Chatwork;

/// A Chatwork delivery under construction (room `567890123`, account `123456`).
pub type Event = crate::Event<Chatwork>;

fn message_event(event_type: &str, text: &str, update_time: u64) -> Event {
    let message_id = fresh_id("10072879");
    Event::new(json!({
        "webhook_setting_id": "12345",
        "webhook_event_type": event_type,
        "webhook_event_time": 1_498_028_130,
        "webhook_event": {
            "message_id": message_id,
            "room_id": 567_890_123,
            "account_id": 123_456,
            "body": text,
            "send_time": 1_498_028_125,
            "update_time": update_time,
        }
    }))
}

/// A `message_created` with `text` and a fresh message id.
pub fn message_created(text: &str) -> Event {
    message_event("message_created", text, 0)
}

/// A `message_updated`: the edit of a message, with `text` as its new body.
pub fn message_updated(text: &str) -> Event {
    message_event("message_updated", text, 1_498_028_140)
}

/// A `mention_to_me` with `text`, from account `2861671` to the bot's account `2739132`.
pub fn mention_to_me(text: &str) -> Event {
    let message_id = fresh_id("10072879");
    Event::new(json!({
        "webhook_setting_id": "581",
        "webhook_event_type": "mention_to_me",
        "webhook_event_time": 1_516_629_767,
        "webhook_event": {
            "from_account_id": 2_861_671,
            "to_account_id": 2_739_132,
            "room_id": 93_207_172,
            "message_id": message_id,
            "body": format!("[To:2739132] {text}"),
            "send_time": 1_516_629_766,
            "update_time": 0,
        }
    }))
}

impl Event {
    /// Puts the event in room `room_id` (Chatwork's room ids are numbers).
    pub fn room(self, room_id: u64) -> Self {
        self.set("/webhook_event/room_id", room_id)
    }

    /// Sets the message id.
    pub fn id(self, message_id: &str) -> Self {
        self.set("/webhook_event/message_id", message_id)
    }

    /// Sets who posted it.
    pub fn account(self, account_id: u64) -> Self {
        self.set("/webhook_event/account_id", account_id)
    }

    /// Sets the update time (an edit is a new delivery with a new update time).
    pub fn update_time(self, epoch_seconds: u64) -> Self {
        self.set("/webhook_event/update_time", epoch_seconds)
    }
}

/// Signs Chatwork deliveries: base64 HMAC-SHA256 of the body, keyed with the base64-decoded
/// webhook token, in `X-ChatWorkWebhookSignature` or the `chatwork_webhook_signature` parameter.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    keys: HmacKeys,
    in_query: bool,
}

/// The webhook token is not base64.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the Chatwork webhook token is not base64")]
pub struct TokenNotBase64;

impl Signer {
    /// Signs with the webhook `token` as Chatwork shows it (base64).
    ///
    /// # Errors
    /// When the token is not base64.
    pub fn new(token: &str) -> Result<Self, TokenNotBase64> {
        let key = BASE64.decode(token.trim()).map_err(|_| TokenNotBase64)?;
        Ok(Self {
            keys: HmacKeys::new([key]),
            in_query: false,
        })
    }

    /// A fresh random-looking token, base64 as Chatwork shows them, for tests.
    pub fn sample_token() -> String {
        BASE64.encode(fresh_id("chatwork-test-token-").as_bytes())
    }

    /// Puts the signature in the query parameter instead of the header.
    pub fn in_query(mut self) -> Self {
        self.in_query = true;
        self
    }

    /// The signature of `body`.
    pub fn signature(&self, body: &[u8]) -> String {
        BASE64.encode(self.keys.sign(&[body]).unwrap_or_default())
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        let signature = self.signature(&body);
        if self.in_query {
            post(&with_query(path, SIGNATURE_PARAM, &signature), &[], body)
        } else {
            post(path, &[(SIGNATURE_HEADER, signature)], body)
        }
    }
}
