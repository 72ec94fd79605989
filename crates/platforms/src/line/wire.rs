//! LINE wire types: the webhook body `{destination, events}`, each event as the Messaging API
//! sends it, and the reply and push requests.

use serde::Deserialize;
#[cfg(feature = "send-api")]
use serde::Serialize;
use serde_json::value::RawValue;

/// A webhook body: events stay raw, so each can be stored (and parsed again) on its own.
#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(default)]
    pub(super) destination: String,
    pub(super) events: Vec<Box<RawValue>>,
}

/// One event; each kind reads the fields it needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireEvent {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) webhook_event_id: String,
    #[serde(default)]
    pub(super) source: Option<Source>,
    #[serde(default)]
    pub(super) delivery_context: Option<DeliveryContext>,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default)]
    pub(super) joined: Option<Members>,
    #[serde(default)]
    pub(super) left: Option<Members>,
}

/// Where an event happened: a user's one-to-one chat, a group or a multi-person room.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Source {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) user_id: Option<String>,
    #[serde(default)]
    pub(super) group_id: Option<String>,
    #[serde(default)]
    pub(super) room_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeliveryContext {
    #[serde(default)]
    pub(super) is_redelivery: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireMessage {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) id: String,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) file_name: Option<String>,
    #[serde(default)]
    pub(super) address: Option<String>,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) sticker_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Members {
    pub(super) members: Vec<Source>,
}

/// What the outbox reads back from an event it answers.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Answering {
    #[serde(default)]
    pub(super) reply_token: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub(super) timestamp: Option<u64>,
}

/// One text message object.
#[cfg(feature = "send-api")]
#[derive(Debug, Serialize)]
pub(super) struct Text<'a> {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) text: &'a str,
}

/// `POST /v2/bot/message/reply`.
#[cfg(feature = "send-api")]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReplyRequest<'a> {
    pub(super) reply_token: &'a str,
    pub(super) messages: &'a [Text<'a>],
}

/// `POST /v2/bot/message/push`.
#[cfg(feature = "send-api")]
#[derive(Debug, Serialize)]
pub(super) struct PushRequest<'a> {
    pub(super) to: &'a str,
    pub(super) messages: &'a [Text<'a>],
}
