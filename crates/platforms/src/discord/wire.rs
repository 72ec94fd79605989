//! Discord wire types: an interaction as Discord POSTs it, the interaction responses, and a
//! follow-up message.

use serde::{Deserialize, Serialize};

/// An interaction; each type reads the fields it needs.
#[derive(Debug, Deserialize)]
pub(super) struct Interaction {
    pub(super) id: String,
    #[serde(rename = "type")]
    pub(super) kind: u8,
    #[serde(default)]
    pub(super) channel_id: Option<String>,
    #[serde(default)]
    pub(super) channel: Option<Channel>,
    /// In a server: the member, whose `user` is who acted.
    #[serde(default)]
    pub(super) member: Option<GuildMember>,
    /// In a DM: who acted.
    #[serde(default)]
    pub(super) user: Option<User>,
    #[serde(default)]
    pub(super) data: Option<Data>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Channel {
    pub(super) id: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct GuildMember {
    pub(super) user: User,
    #[serde(default)]
    pub(super) nick: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub(super) id: String,
    #[serde(default)]
    pub(super) username: Option<String>,
    #[serde(default)]
    pub(super) global_name: Option<String>,
    #[serde(default)]
    pub(super) bot: bool,
}

/// A command's data (a component's stays in the payload).
#[derive(Debug, Deserialize)]
pub(super) struct Data {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) options: Vec<CommandOption>,
}

/// A command's option; a subcommand's own options are nested.
#[derive(Debug, Deserialize)]
pub(super) struct CommandOption {
    #[serde(default)]
    pub(super) value: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) options: Vec<CommandOption>,
}

/// What a follow-up reads back from the interaction it answers.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct Answering {
    #[serde(default)]
    pub(super) token: Option<String>,
}

/// An interaction response: `{"type": n, "data": {…}}`.
#[derive(Debug, Serialize)]
pub(super) struct Response<'a> {
    #[serde(rename = "type")]
    pub(super) kind: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<MessageData<'a>>,
}

/// A message's content, and its flags (64: only the user who acted sees it).
#[derive(Debug, Serialize)]
pub(super) struct MessageData<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) flags: Option<u32>,
}

/// Discord's error body: a rate limit says how long to wait, in seconds.
#[cfg(feature = "send-api")]
#[derive(Debug, Deserialize)]
pub(super) struct ApiError {
    #[serde(default)]
    pub(super) retry_after: Option<f64>,
    #[serde(default)]
    pub(super) message: Option<String>,
}
