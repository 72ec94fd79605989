//! The normalized event model every platform's delivery is parsed into.

use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;

/// One thing that happened in a conversation, normalized across platforms.
///
/// The platform's own JSON stays available through [`Event::payload`] and
/// [`Event::raw_payload`] for fields the normalized model does not carry.
#[derive(Debug, Clone)]
pub struct Event {
    kind: EventKind,
    sender: Option<Member>,
    payload: Bytes,
    redelivered: bool,
}

/// What kind of event this is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// A message was posted.
    Message(Message),
    /// Members joined or were added to the conversation.
    MembersJoined(Vec<Member>),
    /// Members left or were removed from the conversation.
    MembersLeft(Vec<Member>),
    /// An event the model does not normalize; keeps the platform's own name for it.
    Other(String),
    /// No event came for as long as the state's [`StateTimeout`](crate::StateTimeout) waits:
    /// what its handler sees (the context's state is the one that timed out).
    TimedOut {
        /// How long the conversation was silent.
        after: std::time::Duration,
    },
}

/// A posted message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The platform's message id, when it has one.
    pub id: Option<String>,
    /// The message body: the text for text messages, otherwise what the platform sends (a URL,
    /// a file name, a serialized object).
    pub body: String,
    /// What kind of message this is.
    pub message_type: MessageType,
}

/// The kind of a message. Platforms add their own; those are kept in [`MessageType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageType {
    /// Plain text.
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
    /// A voice or audio clip.
    Audio,
    /// A location.
    Location,
    /// A sticker or emoji.
    Sticker,
    /// A link.
    Url,
    /// A file.
    File,
    /// Any other type, by the platform's own name.
    Other(String),
}

/// A participant of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The platform's id for this member.
    pub id: String,
    /// The name to show, when the platform sends one.
    pub display_name: Option<String>,
    /// Whether the platform marks this member as a bot.
    pub is_bot: bool,
}

impl Event {
    /// An event of the given kind, with no sender and an empty payload.
    #[must_use]
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            sender: None,
            payload: Bytes::new(),
            redelivered: false,
        }
    }

    /// Marks the event as one the platform says it sent before (LINE's
    /// `deliveryContext.isRedelivery`, a Slack retry): the first delivery may have been handled
    /// by another instance, or lost before botwire saw it.
    #[must_use]
    pub fn with_redelivery(mut self, redelivered: bool) -> Self {
        self.redelivered = redelivered;
        self
    }

    /// Whether the platform says it delivered this event before. botwire answers a
    /// redelivery of a delivery it already handled from its ledger, without running the
    /// handler; a handler sees `true` only when the first delivery never completed here.
    pub fn is_redelivery(&self) -> bool {
        self.redelivered
    }

    /// Sets who caused the event.
    #[must_use]
    pub fn with_sender(mut self, sender: Member) -> Self {
        self.sender = Some(sender);
        self
    }

    /// Attaches the platform's raw JSON body (shared, not copied).
    #[must_use]
    pub fn with_payload(mut self, payload: Bytes) -> Self {
        self.payload = payload;
        self
    }

    /// What kind of event this is.
    pub fn kind(&self) -> &EventKind {
        &self.kind
    }

    /// Who caused the event, when the platform says.
    pub fn sender(&self) -> Option<&Member> {
        self.sender.as_ref()
    }

    /// The message, when this event is one.
    pub fn message(&self) -> Option<&Message> {
        match &self.kind {
            EventKind::Message(message) => Some(message),
            _ => None,
        }
    }

    /// The text of a text message; `None` for every other event and message type, and for a
    /// message with no body (a platform that left its content out sent no text).
    pub fn text(&self) -> Option<&str> {
        self.message()
            .filter(|m| m.message_type == MessageType::Text && !m.body.is_empty())
            .map(|m| m.body.as_str())
    }

    /// The members who joined, or an empty slice.
    pub fn joined(&self) -> &[Member] {
        match &self.kind {
            EventKind::MembersJoined(members) => members,
            _ => &[],
        }
    }

    /// The members who left, or an empty slice.
    pub fn left(&self) -> &[Member] {
        match &self.kind {
            EventKind::MembersLeft(members) => members,
            _ => &[],
        }
    }

    /// The platform's raw JSON body, exactly as it was verified.
    pub fn raw_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Deserializes the platform's raw body into a type of your own, for fields the normalized
    /// model does not carry.
    ///
    /// # Errors
    /// When the payload does not match `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

impl Message {
    /// A message with the given type and body.
    #[must_use]
    pub fn new(message_type: MessageType, body: impl Into<String>) -> Self {
        Self {
            id: None,
            body: body.into(),
            message_type,
        }
    }

    /// A text message.
    #[must_use]
    pub fn text(body: impl Into<String>) -> Self {
        Self::new(MessageType::Text, body)
    }

    /// Sets the platform's message id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl Member {
    /// A member with the given id, no display name, not a bot.
    #[must_use]
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            display_name: None,
            is_bot: false,
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Marks the member as a bot (or not).
    #[must_use]
    pub fn with_bot(mut self, is_bot: bool) -> Self {
        self.is_bot = is_bot;
        self
    }

    /// The display name, or the id when the platform sent no name.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}

impl EventKind {
    /// A short name for logs: `message`, `members_joined`, `members_left`, `timed_out`, or the
    /// platform's own name for an [`Other`](EventKind::Other) event.
    pub fn name(&self) -> &str {
        match self {
            Self::Message(_) => "message",
            Self::MembersJoined(_) => "members_joined",
            Self::MembersLeft(_) => "members_left",
            Self::Other(name) => name,
            Self::TimedOut { .. } => "timed_out",
        }
    }
}

impl MessageType {
    /// The type's conventional lower-case name (`text`, `image`, …), or the platform's own.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text => "text",
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Location => "location",
            Self::Sticker => "sticker",
            Self::Url => "url",
            Self::File => "file",
            Self::Other(name) => name,
        }
    }
}

impl From<&str> for MessageType {
    fn from(name: &str) -> Self {
        match name {
            "text" => Self::Text,
            "image" => Self::Image,
            "video" => Self::Video,
            "audio" => Self::Audio,
            "location" => Self::Location,
            "sticker" => Self::Sticker,
            "url" => Self::Url,
            "file" => Self::File,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_only_for_text_messages() {
        let text = Event::new(EventKind::Message(Message::text("hi")));
        assert_eq!(text.text(), Some("hi"));

        let image = Event::new(EventKind::Message(Message::new(
            MessageType::Image,
            "https://x/y.png",
        )));
        assert_eq!(image.text(), None);
        assert!(image.message().is_some());

        let empty = Event::new(EventKind::Message(Message::text("")));
        assert_eq!(empty.text(), None, "no body is no text");
        assert!(empty.message().is_some(), "but still a message");

        let joined = Event::new(EventKind::MembersJoined(vec![Member::new("u1")]));
        assert_eq!(joined.text(), None);
        assert_eq!(joined.joined().len(), 1);
        assert!(joined.left().is_empty());
    }

    #[test]
    fn message_type_round_trips_known_and_custom_names() {
        for name in [
            "text", "image", "video", "audio", "location", "sticker", "url", "file",
        ] {
            assert_eq!(MessageType::from(name).as_str(), name);
        }
        let custom = MessageType::from("joinRoom");
        assert_eq!(custom, MessageType::Other("joinRoom".into()));
        assert_eq!(custom.to_string(), "joinRoom");
    }

    #[test]
    fn kinds_have_short_names() {
        assert_eq!(EventKind::Message(Message::text("x")).name(), "message");
        assert_eq!(EventKind::MembersJoined(vec![]).name(), "members_joined");
        assert_eq!(EventKind::MembersLeft(vec![]).name(), "members_left");
        assert_eq!(EventKind::Other("recall".into()).name(), "recall");
    }

    #[test]
    fn member_name_falls_back_to_id() {
        assert_eq!(Member::new("u1").name(), "u1");
        assert_eq!(Member::new("u1").with_name("Ann").name(), "Ann");
    }

    #[test]
    fn payload_deserializes_the_raw_body() {
        #[derive(serde::Deserialize)]
        struct Wire {
            room: String,
        }
        let event = Event::new(EventKind::Other("X".into()))
            .with_payload(Bytes::from_static(br#"{"room":"r1"}"#));
        let wire: Wire = event.payload().expect("payload parses");
        assert_eq!(wire.room, "r1");
        assert_eq!(event.raw_payload(), br#"{"room":"r1"}"#);
        assert!(event.payload::<Vec<u8>>().is_err());
    }
}
