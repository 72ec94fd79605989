//! Kamigo wire types: the envelope `{event, timestamp, data}` and its members.

use serde::Deserialize;

/// The delivery envelope.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub(super) event: String,
    /// ISO-8601, kept as sent: it only feeds delivery ids.
    #[serde(default)]
    pub(super) timestamp: Option<String>,
    #[serde(default)]
    pub(super) data: Data,
}

/// `data`, with every event's fields optional; each event checks the ones it needs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Data {
    pub(super) channel_id: Option<String>,
    pub(super) message_id: Option<String>,
    pub(super) sender: Option<WireMember>,
    pub(super) member: Option<WireMember>,
    #[serde(rename = "type")]
    pub(super) message_type: Option<String>,
    pub(super) content: Option<serde_json::Value>,
    pub(super) file_type: Option<String>,
}

/// A user as Kamigo sends it (LINE-style ids: `U…`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireMember {
    pub(super) user_id: String,
    pub(super) display_name: Option<String>,
}
