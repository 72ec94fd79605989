//! Slack Events API requests as Slack sends them (its documentation's examples), signed with
//! `X-Slack-Signature` over `v0:{timestamp}:{body}`.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire_platforms::auth::HmacKeys;
use botwire_platforms::slack::{RETRY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post};

/// Marks Slack events.
#[derive(Debug, Clone, Copy)]
pub struct Slack;

/// A Slack `event_callback` under construction; defaults follow Slack's examples (channel
/// `C123ABC456`, user `U123ABC456`, the app's bot user `U0LAN0Z89`).
pub type Event = crate::Event<Slack>;

/// The channel events are in unless told otherwise.
pub const CHANNEL: &str = "C123ABC456";
/// The app's bot user.
pub const BOT_USER: &str = "U0LAN0Z89";

fn callback(event: Value) -> Event {
    Event::new(json!({
        "token": "XXYYZZ",
        "team_id": "T123ABC456",
        "api_app_id": "A123ABC456",
        "event": event,
        "type": "event_callback",
        "authorizations": [{ "team_id": "T123ABC456", "user_id": BOT_USER, "is_bot": true }],
        "event_id": fresh_id("Ev"),
        "event_time": 1_355_517_523,
    }))
}

fn ts() -> String {
    format!("1355517523.{}", fresh_id(""))
}

/// A message with `text` in the channel.
pub fn message(text: &str) -> Event {
    callback(json!({
        "type": "message", "channel": CHANNEL, "user": "U123ABC456", "text": text, "ts": ts(),
        "channel_type": "channel",
    }))
}

/// A mention of the app: `<@U0LAN0Z89> text`.
pub fn app_mention(text: &str) -> Event {
    callback(json!({
        "type": "app_mention", "channel": CHANNEL, "user": "U061F7AUR",
        "text": format!("<@{BOT_USER}> {text}"), "ts": ts(),
    }))
}

/// User `user` joined the channel.
pub fn member_joined(user: &str) -> Event {
    callback(json!({
        "type": "member_joined_channel", "user": user, "channel": CHANNEL, "channel_type": "C",
        "team": "T123ABC456",
    }))
}

/// User `user` left the channel.
pub fn member_left(user: &str) -> Event {
    callback(json!({
        "type": "member_left_channel", "user": user, "channel": CHANNEL, "channel_type": "C",
        "team": "T123ABC456",
    }))
}

/// A bot's message (the app's own come back like this): ignored.
pub fn bot_message(text: &str) -> Event {
    callback(json!({
        "type": "message", "subtype": "bot_message", "channel": CHANNEL, "text": text,
        "bot_id": "BB12033", "ts": ts(),
    }))
}

/// The request URL's verification, with `challenge`.
pub fn url_verification(challenge: &str) -> Event {
    Event::new(json!({
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification",
    }))
}

impl Event {
    /// Puts the event in channel `channel`.
    pub fn channel(self, channel: &str) -> Self {
        self.set("/event/channel", channel)
    }

    /// Puts the message in the thread of `thread_ts`.
    pub fn in_thread(self, thread_ts: &str) -> Self {
        self.set("/event/thread_ts", thread_ts)
    }

    /// Sets the delivery id (`event_id`).
    pub fn id(self, event_id: &str) -> Self {
        self.set("/event_id", event_id)
    }

    /// The delivery id.
    pub fn event_id(&self) -> &str {
        self.value["event_id"].as_str().unwrap_or_default()
    }
}

/// Signs as Slack does, at the current time unless told otherwise.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    keys: HmacKeys,
    timestamp: Option<u64>,
    retry: Option<u32>,
}

impl Signer {
    /// Signs with the app's signing secret.
    pub fn new(signing_secret: &str) -> Self {
        Self {
            keys: HmacKeys::new([signing_secret.as_bytes()]),
            timestamp: None,
            retry: None,
        }
    }

    /// Signs at this unix time (seconds) instead of now: for stale or future requests.
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Marks the request as Slack's `n`-th retry (`X-Slack-Retry-Num`).
    pub fn retry(mut self, n: u32) -> Self {
        self.retry = Some(n);
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
        let tag = self
            .keys
            .sign(&[b"v0:", timestamp.as_bytes(), b":", body])
            .unwrap_or_default();
        (timestamp, format!("v0={}", hex::encode(tag)))
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        let (timestamp, signature) = self.headers(&body);
        let mut headers = vec![(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)];
        if let Some(n) = self.retry {
            headers.push((RETRY_HEADER, n.to_string()));
            headers.push(("x-slack-retry-reason", "http_timeout".to_owned()));
        }
        post(path, &headers, body)
    }
}
