//! Microsoft Teams outgoing webhooks (platform id `teams`), as a botwire user would add them.
//!
//! Teams POSTs an activity when someone @mentions the webhook in a channel, with
//! `Authorization: HMAC <base64>`: the HMAC-SHA256 of the raw body under the security token
//! Teams showed when the webhook was created (itself base64 of the key). The reply goes in the
//! response, `{"type":"message","text":…}`, within 5 seconds. Teams carries no bot state, so
//! botwire's state store keeps it per conversation: the thread the mention was posted in.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire::core::{Event, EventKind, Member, Message, MessageType, Reply};
use botwire::platforms::auth::{HmacKeys, Secret, TagEncoding, verify_signature_header};
use botwire::platforms::{
    Adapter, ChannelSettings, Inbound, Mode, Parsed, Platform, Rejection, SettingError, Verified,
    json,
};
use bytes::Bytes;
use http::request::Parts;

use crate::wire;

/// The platform id: the implicit channel `teams` at `/webhooks/teams`, `BOTWIRE_TEAMS_*`.
pub const ID: &str = "teams";
/// How long Teams waits for the answer.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// The header the signature comes in, as `HMAC <base64>`.
pub const SIGNATURE_HEADER: &str = "authorization";
/// What a delivery the bot does not answer gets.
pub const NO_OP: &[u8] = b"{}";

/// The settings a Teams channel reads (besides `platform`, `path` and `allow_from`).
const KEYS: [&str; 2] = ["token", "deadline"];

/// The Teams [`Platform`]: register it with `Server::platform(Teams)`.
#[derive(Debug, Clone, Copy)]
pub struct Teams;

/// One Teams outgoing webhook.
#[derive(Debug, Clone)]
pub struct TeamsAdapter {
    keys: HmacKeys,
    deadline: Duration,
}

/// Why a security token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// No token at all.
    Missing,
    /// A token that is not base64 (it is shown to be copied whole).
    NotBase64,
}

impl TeamsAdapter {
    /// An adapter that accepts deliveries signed with any of `tokens` (two while rotating).
    ///
    /// # Errors
    /// When there is no token, or one is not base64.
    pub fn new(tokens: &[Secret]) -> Result<Self, TokenError> {
        if tokens.is_empty() {
            return Err(TokenError::Missing);
        }
        let keys = tokens
            .iter()
            .map(|token| BASE64.decode(token.expose().trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TokenError::NotBase64)?;
        Ok(Self {
            keys: HmacKeys::new(keys),
            deadline: DEADLINE,
        })
    }

    /// Answers within `deadline` instead of Teams' 5 seconds.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

impl Platform for Teams {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        // A typo in a key is an error, not a setting silently ignored.
        settings.expect_only(&KEYS)?;
        let mut adapter = match TeamsAdapter::new(&settings.secrets("token")?) {
            Ok(adapter) => adapter,
            // No token: the channel is not mounted.
            Err(TokenError::Missing) => return Ok(None),
            // Named, never quoted: the value is a secret.
            Err(TokenError::NotBase64) => {
                return Err(
                    settings.error("token", "expected the base64 security token Teams showed")
                );
            }
        };
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(adapter)))
    }
}

impl Adapter for TeamsAdapter {
    fn platform(&self) -> &'static str {
        ID
    }

    fn mode(&self) -> Mode {
        Mode::InResponse
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, request: &Parts, body: &[u8]) -> Result<(), Rejection> {
        // Constant time, over the raw bytes, under each key in turn.
        verify_signature_header(
            &request.headers,
            SIGNATURE_HEADER,
            b"HMAC ",
            TagEncoding::Base64,
            &self.keys,
            &[body],
        )
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        // A missing or mistyped field is a 400 that names it and quotes nothing.
        let activity: wire::Activity = json::parse(body.as_ref())?;
        if activity.kind != "message" {
            return Ok(Parsed::Ignored {
                reason: "not a message activity",
            });
        }
        if activity.id.is_empty() || activity.conversation.id.is_empty() {
            return Err(Rejection::bad_request(
                "invalid_field",
                "`id` and `conversation.id` must not be empty",
            ));
        }
        let text = without_mentions(activity.text.as_deref().unwrap_or_default());
        let message = Message::new(MessageType::Text, text).with_id(activity.id.clone());
        let mut sender = Member::new(activity.from.id);
        if let Some(name) = activity.from.name.filter(|n| !n.is_empty()) {
            sender = sender.with_name(name);
        }
        let event = Event::new(EventKind::Message(message))
            .with_sender(sender)
            .with_payload(body.into_bytes());
        Ok(Parsed::Event(Box::new(Inbound::new(
            activity.id,
            activity.conversation.id,
            event,
        ))))
    }

    fn render(&self, reply: &Reply, _next_state: Option<&str>) -> Bytes {
        // Teams keeps no state: botwire's state store already has the next one.
        let Some(message) = reply.out_message() else {
            return self.no_op();
        };
        let wire = wire::Reply {
            kind: "message",
            text: message.body(),
        };
        serde_json::to_vec(&wire).map_or_else(|_| self.no_op(), Bytes::from)
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(NO_OP)
    }
}

/// The text as typed, without the `<at>…</at>` mentions (the webhook's own name among them)
/// Teams puts in it.
fn without_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<at>") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</at>") {
            Some(end) => rest = &rest[start + end + "</at>".len()..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::without_mentions;

    #[test]
    fn mentions_are_dropped_and_the_rest_kept() {
        assert_eq!(without_mentions("<at>Echo</at> hello"), "hello");
        assert_eq!(without_mentions("<at>Echo</at>&nbsp;teach"), "teach");
        assert_eq!(
            without_mentions("ask <at>Ann</at> and <at>Echo</at>"),
            "ask  and"
        );
        assert_eq!(without_mentions("a <at>broken"), "a <at>broken");
        assert_eq!(without_mentions("plain"), "plain");
    }
}
