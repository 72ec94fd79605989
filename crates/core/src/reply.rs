//! What a handler answers: a message, who sends it, and where the conversation goes next.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::IntoStateName;

/// A handler's answer to one event. Serializable, so that a queue can keep a reply that is
/// waiting to be delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Reply {
    sender: Option<String>,
    message: Option<OutMessage>,
    transition: Transition,
}

/// A message to post back into the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct OutMessage {
    text: String,
    message_type: String,
    extra: Map<String, Value>,
}

/// Where the conversation's state goes after this event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Transition {
    /// Keep the current state.
    #[default]
    Stay,
    /// Move to the named state.
    Goto(String),
}

impl Reply {
    /// No message, no state change: the platform's no-op.
    pub fn none() -> Self {
        Self {
            sender: None,
            message: None,
            transition: Transition::Stay,
        }
    }

    /// A text message; the state stays.
    pub fn text(text: impl Into<String>) -> Self {
        Self::message(OutMessage::text(text))
    }

    /// Any message; the state stays.
    pub fn message(message: OutMessage) -> Self {
        Self {
            message: Some(message),
            ..Self::none()
        }
    }

    /// Moves the conversation to `state` after this reply: a name, or a value of the bot's
    /// [`BotState`](crate::BotState) type (then a misspelled state does not compile).
    pub fn goto(mut self, state: impl IntoStateName) -> Self {
        self.transition = Transition::Goto(state.into_state_name());
        self
    }

    /// Keeps the conversation in its current state (the default).
    pub fn stay(mut self) -> Self {
        self.transition = Transition::Stay;
        self
    }

    /// Posts the message as this sender (a bot account id) where the platform allows choosing;
    /// read back with [`sender_id`](Self::sender_id).
    pub fn with_sender_id(mut self, sender_id: impl Into<String>) -> Self {
        self.sender = Some(sender_id.into());
        self
    }

    /// The same as [`with_sender_id`](Self::with_sender_id).
    #[deprecated(
        since = "0.1.0",
        note = "use with_sender_id, named like its getter sender_id"
    )]
    pub fn sender(self, sender_id: impl Into<String>) -> Self {
        self.with_sender_id(sender_id)
    }

    /// The sender id set with [`with_sender_id`](Self::with_sender_id), if any.
    pub fn sender_id(&self) -> Option<&str> {
        self.sender.as_deref()
    }

    /// The message to post, if any: the [`OutMessage`] the reply was made with
    /// ([`text`](Self::text), [`message`](Self::message)).
    pub fn out_message(&self) -> Option<&OutMessage> {
        self.message.as_ref()
    }

    /// The state transition.
    pub fn transition(&self) -> &Transition {
        &self.transition
    }
}

impl OutMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new("text", text)
    }

    /// A message of the given platform message type (`image`, `sticker`, …).
    pub fn new(message_type: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            message_type: message_type.into(),
            extra: Map::new(),
        }
    }

    /// Adds a platform-specific field, rendered beside the text where the platform's reply shape
    /// has room for it.
    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// The message text.
    pub fn body(&self) -> &str {
        &self.text
    }

    /// The message type.
    pub fn message_type(&self) -> &str {
        &self.message_type
    }

    /// Platform-specific fields added with [`OutMessage::with_field`].
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }
}

impl From<&str> for OutMessage {
    fn from(text: &str) -> Self {
        Self::text(text)
    }
}

impl From<String> for OutMessage {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_compose() {
        let reply = Reply::text("hi")
            .goto("teaching")
            .with_sender_id("robot001");
        assert_eq!(reply.out_message().map(OutMessage::body), Some("hi"));
        assert_eq!(reply.transition(), &Transition::Goto("teaching".into()));
        assert_eq!(reply.sender_id(), Some("robot001"));
        assert_eq!(reply.clone().stay().transition(), &Transition::Stay);
    }

    #[test]
    #[allow(deprecated)]
    fn the_old_sender_setter_sets_what_sender_id_reads() {
        let reply = Reply::text("hi").sender("robot001");
        assert_eq!(reply, Reply::text("hi").with_sender_id("robot001"));
    }

    #[test]
    fn none_is_the_no_op() {
        let reply = Reply::none();
        assert!(reply.out_message().is_none());
        assert_eq!(reply.transition(), &Transition::Stay);
        assert!(reply.sender_id().is_none());
    }

    #[test]
    fn out_message_keeps_type_and_extra_fields() {
        let msg = OutMessage::new("image", "https://x/y.png").with_field("width", 64);
        assert_eq!(msg.message_type(), "image");
        assert_eq!(msg.extra().get("width"), Some(&Value::from(64)));
    }
}
