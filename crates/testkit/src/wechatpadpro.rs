//! WeChatPadPro deliveries as the gateway sends them, and its timestamped signature.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire_platforms::auth::HmacKeys;
use botwire_platforms::wechatpadpro::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::json;

use crate::event::{fresh_id, post};

/// Marks WeChatPadPro deliveries.
#[derive(Debug, Clone, Copy)]
pub struct WeChatPadPro;

/// A WeChatPadPro delivery under construction; defaults follow the seed (account
/// `wxid_abcdefg123456`, from `wxid_sender12345`).
pub type Event = crate::Event<WeChatPadPro>;

const ACCOUNT: &str = "wxid_abcdefg123456";

/// A text message (`msgType` 1) with `text` and a fresh `msgId`, from `wxid_sender12345`.
pub fn text(text: &str) -> Event {
    message(1, text)
}

/// A message of type `msg_type` (3 image, 34 voice, …) with this content.
pub fn message(msg_type: i64, content: &str) -> Event {
    Event::new(json!({
        "key": ACCOUNT,
        "msgId": fresh_id("76543210"),
        "timestamp": 1_625_123_456,
        "fromUser": "wxid_sender12345",
        "toUser": ACCOUNT,
        "msgType": msg_type,
        "content": content,
        "isSelfMsg": false,
        "createTime": 1_625_123_450,
        "isHistory": false,
    }))
}

/// A text message in group `room` (`…@chatroom`) from member `member`.
pub fn group_text(room: &str, member: &str, text: &str) -> Event {
    self::text(&format!("{member}:\n{text}")).set("/fromUser", room)
}

impl Event {
    /// Sets the `msgId`.
    pub fn id(self, msg_id: &str) -> Self {
        self.set("/msgId", msg_id)
    }

    /// Sets who sent it (the conversation of a one-to-one chat).
    pub fn from_user(self, user: &str) -> Self {
        self.set("/fromUser", user)
    }

    /// Marks it as the account's own message.
    pub fn own(self) -> Self {
        self.set("/isSelfMsg", true)
    }

    /// Marks it as a history message.
    pub fn history(self) -> Self {
        self.set("/isHistory", true)
    }
}

/// Signs WeChatPadPro deliveries: `X-Webhook-Timestamp` and the hex HMAC of
/// `timestamp:body` (or `timestamp` + body with [`Signer::concat`]).
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    keys: HmacKeys,
    concat: bool,
    timestamp: Option<u64>,
}

impl Signer {
    /// Signs with `secret`, the colon variant, at the current time.
    pub fn new(secret: &str) -> Self {
        Self {
            keys: HmacKeys::new([secret.as_bytes()]),
            concat: false,
            timestamp: None,
        }
    }

    /// Signs `timestamp` + body, with no colon.
    pub fn concat(mut self) -> Self {
        self.concat = true;
        self
    }

    /// Signs at this unix time (seconds) instead of now: for stale or future requests.
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The timestamp and signature headers' values for `body`.
    pub fn headers(&self, body: &[u8]) -> (String, String) {
        let timestamp = self
            .timestamp
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default()
            })
            .to_string();
        let separator: &[u8] = if self.concat { b"" } else { b":" };
        let tag = self
            .keys
            .sign(&[timestamp.as_bytes(), separator, body])
            .unwrap_or_default();
        (timestamp, hex::encode(tag))
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        let (timestamp, signature) = self.headers(&body);
        post(
            path,
            &[(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)],
            body,
        )
    }
}
