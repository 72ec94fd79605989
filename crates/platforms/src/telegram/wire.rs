//! Telegram Bot API wire types: an `Update` with the kinds botwire reads, and the
//! `sendMessage` call (in the webhook's answer, or through the API).

use serde::{Deserialize, Serialize};

/// One update. Exactly one of the optional fields is set; kinds not named here are kept in
/// the payload and read by their key.
#[derive(Debug, Deserialize)]
pub(super) struct Update {
    pub(super) update_id: i64,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default)]
    pub(super) edited_message: Option<WireMessage>,
    #[serde(default)]
    pub(super) channel_post: Option<WireMessage>,
    #[serde(default)]
    pub(super) edited_channel_post: Option<WireMessage>,
    #[serde(default)]
    pub(super) callback_query: Option<CallbackQuery>,
    #[serde(default)]
    pub(super) chat_member: Option<ChatMemberUpdated>,
    #[serde(default)]
    pub(super) my_chat_member: Option<ChatMemberUpdated>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Chat {
    pub(super) id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct User {
    pub(super) id: i64,
    #[serde(default)]
    pub(super) is_bot: bool,
    #[serde(default)]
    pub(super) first_name: Option<String>,
    #[serde(default)]
    pub(super) last_name: Option<String>,
    #[serde(default)]
    pub(super) username: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireMessage {
    pub(super) message_id: i64,
    pub(super) chat: Chat,
    #[serde(default)]
    pub(super) from: Option<User>,
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) caption: Option<String>,
    #[serde(default)]
    pub(super) photo: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) video: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) animation: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) voice: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) audio: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) document: Option<Document>,
    #[serde(default)]
    pub(super) location: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub(super) sticker: Option<Sticker>,
    #[serde(default)]
    pub(super) new_chat_members: Option<Vec<User>>,
    #[serde(default)]
    pub(super) left_chat_member: Option<User>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Document {
    #[serde(default)]
    pub(super) file_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Sticker {
    #[serde(default)]
    pub(super) emoji: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackQuery {
    pub(super) from: User,
    /// The message with the button, when the bot sent it (not an inline message).
    #[serde(default)]
    pub(super) message: Option<CallbackMessage>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackMessage {
    pub(super) chat: Chat,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChatMemberUpdated {
    pub(super) chat: Chat,
    pub(super) from: User,
    pub(super) old_chat_member: ChatMember,
    pub(super) new_chat_member: ChatMember,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChatMember {
    pub(super) status: String,
    pub(super) user: User,
}

/// What the answer reads back from a callback query it answers.
#[derive(Debug, Deserialize)]
pub(super) struct Answering {
    #[serde(default)]
    pub(super) callback_query: Option<CallbackId>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CallbackId {
    pub(super) id: String,
}

/// `sendMessage`: as a method call in the webhook's answer (`method` set), or the body of a
/// Bot API call (`method` left out).
#[derive(Debug, Serialize)]
pub(super) struct SendMessage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) method: Option<&'static str>,
    pub(super) chat_id: ChatId<'a>,
    pub(super) text: &'a str,
}

/// `answerCallbackQuery` in the webhook's answer: stops the button's spinner when there is
/// nothing to say.
#[derive(Debug, Serialize)]
pub(super) struct AnswerCallbackQuery<'a> {
    pub(super) method: &'static str,
    pub(super) callback_query_id: &'a str,
}

/// A chat id as Telegram takes it: a number, or `@channelusername`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum ChatId<'a> {
    Number(i64),
    Name(&'a str),
}

impl<'a> ChatId<'a> {
    pub(super) fn of(conversation: &'a str) -> Self {
        conversation
            .parse()
            .map_or(Self::Name(conversation), Self::Number)
    }
}

/// The Bot API's answer envelope.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct ApiAnswer {
    #[serde(default)]
    pub(super) ok: bool,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) parameters: Option<ResponseParameters>,
}

#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct ResponseParameters {
    #[serde(default)]
    pub(super) retry_after: Option<u64>,
}
