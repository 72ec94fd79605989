//! The part of a Teams activity the adapter reads, and the reply it answers with. Only this
//! file knows Teams' field names.

use serde::{Deserialize, Serialize};

/// An activity Teams posts to an outgoing webhook when someone @mentions it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Activity {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) text: Option<String>,
    pub(crate) from: Account,
    pub(crate) conversation: Conversation,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Account {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Conversation {
    /// `19:…@thread.skype;messageid=…`: the channel and the thread the mention is in.
    pub(crate) id: String,
}

/// The message Teams posts into the thread.
#[derive(Debug, Serialize)]
pub(crate) struct Reply<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) text: &'a str,
}
