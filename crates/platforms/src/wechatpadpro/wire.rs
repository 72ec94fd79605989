//! WeChatPadPro wire types: one flat message object per delivery.

use serde::{Deserialize, Deserializer};

/// A delivered message. Only `msgId` is required; the rest is read when present.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Delivery {
    #[serde(deserialize_with = "text_or_number")]
    pub(super) msg_id: String,
    #[serde(default)]
    pub(super) from_user: Option<String>,
    #[serde(default)]
    pub(super) to_user: Option<String>,
    #[serde(default, deserialize_with = "optional_number")]
    pub(super) msg_type: Option<i64>,
    #[serde(default)]
    pub(super) content: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) is_self_msg: bool,
    #[serde(default)]
    pub(super) is_history: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Number(i64),
    Text(String),
}

/// An id sent as a string (documented) or a number (seen in gateways), kept as text.
fn text_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match TextOrNumber::deserialize(deserializer)? {
        TextOrNumber::Number(n) => n.to_string(),
        TextOrNumber::Text(text) => text,
    })
}

/// A number sent as a number (documented) or its decimal text.
fn optional_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<TextOrNumber>::deserialize(deserializer)? {
        None => Ok(None),
        Some(TextOrNumber::Number(n)) => Ok(Some(n)),
        Some(TextOrNumber::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a number")),
    }
}

#[cfg(feature = "send-api")]
/// `POST /message/SendTextMessage`: one text message.
#[derive(Debug, serde::Serialize)]
pub(super) struct SendText<'a> {
    #[serde(rename = "MsgItem")]
    pub(super) msg_item: [TextItem<'a>; 1],
}

#[cfg(feature = "send-api")]
/// One message of a [`SendText`].
#[derive(Debug, serde::Serialize)]
pub(super) struct TextItem<'a> {
    #[serde(rename = "ToUserName")]
    pub(super) to_user_name: &'a str,
    #[serde(rename = "TextContent")]
    pub(super) text_content: &'a str,
    /// 1: text.
    #[serde(rename = "MsgType")]
    pub(super) msg_type: i64,
    #[serde(rename = "AtWxIDList")]
    pub(super) at_wx_id_list: Vec<&'a str>,
}

#[cfg(feature = "send-api")]
/// The gateway's answer envelope: `Code` 200 is success, whatever the HTTP status said.
#[derive(Debug, Deserialize)]
pub(super) struct ApiAnswer {
    #[serde(rename = "Code")]
    pub(super) code: Option<i64>,
    #[serde(rename = "Text", default)]
    pub(super) text: Option<String>,
}
