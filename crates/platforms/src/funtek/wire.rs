//! FUNTEK / IMKit wire types: what the chat server sends and what it reads back.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The delivery envelope. Real deliveries carry only `roomID`, `event` and `data`; the rest of
/// the documented fields are optional.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    #[serde(rename = "roomID")]
    pub(super) room_id: Option<String>,
    pub(super) event: String,
    #[serde(rename = "botState")]
    pub(super) bot_state: Option<String>,
    pub(super) data: Option<Data>,
}

/// `data`: the message, or the member event's sender and members.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Data {
    #[serde(rename = "_id")]
    pub(super) underscore_id: Option<String>,
    pub(super) id: Option<String>,
    pub(super) message: Option<Value>,
    #[serde(rename = "messageType")]
    pub(super) message_type: Option<String>,
    pub(super) room: Option<String>,
    pub(super) sender: Option<WireMember>,
    pub(super) members: Option<Vec<WireMember>>,
}

/// A member (client) as FUNTEK sends it.
#[derive(Debug, Deserialize)]
pub(super) struct WireMember {
    #[serde(rename = "_id")]
    pub(super) underscore_id: Option<String>,
    pub(super) id: Option<String>,
    pub(super) nickname: Option<String>,
    #[serde(rename = "isRobot", default)]
    pub(super) is_robot: bool,
}

/// The reply read back from the HTTP response.
#[derive(Debug, Serialize)]
pub(super) struct Reply<'a> {
    #[serde(rename = "senderID", skip_serializing_if = "Option::is_none")]
    pub(super) sender_id: Option<&'a str>,
    #[serde(rename = "toBotState")]
    pub(super) to_bot_state: Option<&'a str>,
    pub(super) data: Option<ReplyMessage<'a>>,
}

/// The reply's `data`.
#[derive(Debug, Serialize)]
pub(super) struct ReplyMessage<'a> {
    pub(super) message: &'a str,
    #[serde(rename = "messageType")]
    pub(super) message_type: &'a str,
    #[serde(flatten)]
    pub(super) extra: &'a Map<String, Value>,
}

#[cfg(feature = "send-api")]
/// `POST /rooms/{roomID}/message` on the platform API: one message into a room.
#[derive(Debug, Serialize)]
pub(super) struct SendMessage<'a> {
    /// A client-chosen id: IMKit updates the message with this id rather than posting
    /// another, so a resend is not a second message.
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<&'a str>,
    /// The bot's client id, as the platform admin's send takes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sender: Option<&'a str>,
    #[serde(flatten)]
    pub(super) message: ReplyMessage<'a>,
}

#[cfg(feature = "send-api")]
/// The platform API's answer envelope: `RC` 0 is success.
#[derive(Debug, Deserialize)]
pub(super) struct ApiAnswer {
    #[serde(rename = "RC")]
    pub(super) rc: Option<i64>,
    #[serde(rename = "RM", default)]
    pub(super) rm: Option<String>,
    /// How long a 429 asks to wait, in seconds.
    #[serde(rename = "retryAfter", default)]
    pub(super) retry_after: Option<u64>,
}
