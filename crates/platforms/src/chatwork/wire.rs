//! Chatwork wire types: the webhook envelope and its event object.

use serde::{Deserialize, Deserializer};

/// The delivery envelope.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope {
    pub(super) webhook_event_type: String,
    #[serde(default)]
    pub(super) webhook_event: Option<WireEvent>,
}

/// `webhook_event`: the fields of `message_created`, `message_updated` and `mention_to_me`,
/// all optional here; each type checks the ones it needs. Ids arrive as numbers or strings.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireEvent {
    #[serde(default, deserialize_with = "id")]
    pub(super) message_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub(super) room_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub(super) account_id: Option<String>,
    #[serde(default, deserialize_with = "id")]
    pub(super) from_account_id: Option<String>,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) update_time: Option<i64>,
}

/// An id sent as a JSON number or string, kept as its decimal text.
fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    Ok(match Option::<Id>::deserialize(deserializer)? {
        Some(Id::Number(n)) => Some(n.to_string()),
        Some(Id::Text(text)) => Some(text),
        None => None,
    })
}
