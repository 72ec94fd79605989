//! A posted message as FUNTEK and Kamigo send it: a type name that may be missing, and content
//! that may be text, other JSON, or nothing at all.

use botwire_core::{Message, MessageType};
use serde_json::Value;

/// The message of `message_type` (text when the platform names none) with `content` as its
/// body: a string as it is, other JSON as its text, and nothing as an empty body, which is no
/// text (`Event::text` is `None`), never an empty one to echo.
pub(crate) fn message(message_type: Option<&str>, content: Option<Value>, id: String) -> Message {
    let message_type = message_type.map_or(MessageType::Text, MessageType::from);
    let body = match content {
        Some(Value::String(text)) => text,
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    Message::new(message_type, body).with_id(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_keeps_its_type_and_content() {
        let text = message(None, Some(Value::from("hi")), "m1".into());
        assert_eq!(
            (text.message_type, text.body.as_str()),
            (MessageType::Text, "hi")
        );
        assert_eq!(text.id.as_deref(), Some("m1"));
        let image = message(
            Some("image"),
            Some(Value::from("https://x/y.png")),
            "m2".into(),
        );
        assert_eq!(image.message_type, MessageType::Image);
        let object = message(
            Some("location"),
            Some(serde_json::json!({"lat": 1})),
            "m3".into(),
        );
        assert_eq!(object.body, r#"{"lat":1}"#);
        for nothing in [None, Some(Value::Null)] {
            let empty = message(None, nothing, "m4".into());
            assert_eq!(
                (empty.message_type, empty.body.as_str()),
                (MessageType::Text, "")
            );
        }
    }
}
