//! Slack wire types: the Events API envelope and its inner event, and `chat.postMessage`.

use serde::Deserialize;
#[cfg(feature = "send-api")]
use serde::Serialize;

/// What Slack POSTs to the request URL: `url_verification` or `event_callback`.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) challenge: Option<String>,
    #[serde(default)]
    pub(super) event_id: Option<String>,
    #[serde(default)]
    pub(super) event: Option<InnerEvent>,
    #[serde(default)]
    pub(super) authorizations: Vec<Authorization>,
}

/// The event itself; each type reads the fields it needs.
#[derive(Debug, Deserialize)]
pub(super) struct InnerEvent {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) subtype: Option<String>,
    #[serde(default)]
    pub(super) channel: Option<String>,
    #[serde(default)]
    pub(super) user: Option<String>,
    #[serde(default)]
    pub(super) bot_id: Option<String>,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) ts: Option<String>,
}

/// Who the app is installed as: the bot user whose mentions lead an `app_mention`'s text.
#[derive(Debug, Deserialize)]
pub(super) struct Authorization {
    #[serde(default)]
    pub(super) user_id: Option<String>,
    #[serde(default)]
    pub(super) is_bot: bool,
}

/// What the outbox reads back from the event a reply answers.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct Answering {
    pub(super) event: AnsweringEvent,
}

#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct AnsweringEvent {
    #[serde(default)]
    pub(super) thread_ts: Option<String>,
}

/// `chat.postMessage`.
#[cfg(feature = "send-api")]
#[derive(Debug, Serialize)]
pub(super) struct PostMessage<'a> {
    pub(super) channel: &'a str,
    pub(super) text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) thread_ts: Option<&'a str>,
}

/// Slack's answer: HTTP 200 with `ok`, and `error` when it is not.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct ApiAnswer {
    #[serde(default)]
    pub(super) ok: bool,
    #[serde(default)]
    pub(super) error: Option<String>,
}
