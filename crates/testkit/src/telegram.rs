//! Telegram updates as the Bot API sends them (its webhook guide's samples), and the
//! `X-Telegram-Bot-Api-Secret-Token` header.

use botwire_platforms::telegram::SECRET_HEADER;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post};

/// Marks Telegram updates.
#[derive(Debug, Clone, Copy)]
pub struct Telegram;

/// A Telegram update under construction; defaults follow the Bot API's webhook guide (the
/// private chat of user 1111111, "Test Test Lastname").
pub type Event = crate::Event<Telegram>;

/// The chat updates are in unless told otherwise: the user's private chat.
pub const CHAT: i64 = 1_111_111;

fn user(id: i64, first_name: &str) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": first_name })
}

fn update_id() -> i64 {
    // Unique within the process and across runs, and an integer as Telegram's are.
    fresh_id("").parse::<i64>().unwrap_or(1) % 1_000_000_000_000
}

fn message_update(message: Value) -> Event {
    Event::new(json!({ "update_id": update_id(), "message": message }))
}

fn base_message() -> Value {
    json!({
        "message_id": update_id() % 1_000_000,
        "date": 1_441_645_532,
        "chat": { "id": CHAT, "type": "private", "first_name": "Test" },
        "from": { "id": CHAT, "is_bot": false, "first_name": "Test", "last_name": "Test Lastname",
                  "username": "Test" },
    })
}

/// A text message with `text`.
pub fn message(text: &str) -> Event {
    let mut message = base_message();
    message["text"] = json!(text);
    message_update(message)
}

/// A photo with `caption`.
pub fn photo(caption: &str) -> Event {
    let mut message = base_message();
    message["photo"] = json!([{ "file_id": "AgAD", "file_unique_id": "AQAD", "width": 90,
                                "height": 90 }]);
    message["caption"] = json!(caption);
    message_update(message)
}

/// Members `names` joined the group the message is in (see [`Event::chat`]).
pub fn new_members(names: &[&str]) -> Event {
    let mut message = base_message();
    let members: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| user(2_000_000 + i as i64, name))
        .collect();
    message["new_chat_members"] = json!(members);
    message_update(message)
}

/// Member `name` left the group.
pub fn left_member(name: &str) -> Event {
    let mut message = base_message();
    message["left_chat_member"] = user(3_000_000, name);
    message_update(message)
}

/// A button with `data` was pressed under a message in the chat.
pub fn callback_query(data: &str) -> Event {
    Event::new(json!({
        "update_id": update_id(),
        "callback_query": {
            "id": fresh_id("cbq"),
            "from": { "id": CHAT, "is_bot": false, "first_name": "Test" },
            "message": base_message(),
            "chat_instance": "-1234",
            "data": data,
        }
    }))
}

impl Event {
    /// Puts the message in chat `chat_id` (a group's is negative).
    pub fn chat(self, chat_id: i64) -> Self {
        let pointer = if self.value.get("callback_query").is_some() {
            "/callback_query/message/chat/id"
        } else {
            "/message/chat/id"
        };
        self.set(pointer, chat_id)
    }

    /// Sets the sender (`from`).
    pub fn from_user(self, user_id: i64, first_name: &str) -> Self {
        self.set("/message/from", user(user_id, first_name))
    }

    /// Sets the delivery id (`update_id`).
    pub fn id(self, update_id: i64) -> Self {
        self.set("/update_id", update_id)
    }

    /// The delivery id.
    pub fn update_id(&self) -> i64 {
        self.value["update_id"].as_i64().unwrap_or_default()
    }
}

/// Sends updates as Telegram does: the webhook's secret token in its header.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    secret: String,
}

impl Signer {
    /// With the `secret_token` given to `setWebhook`.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
        }
    }

    /// A POST of `body` to `path` with the secret token.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        post(path, &[(SECRET_HEADER, self.secret.clone())], body.into())
    }
}
