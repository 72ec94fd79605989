//! Kamigo 群組GM (platform id `kamigo`): acknowledge at once, reply through an outbox.
//!
//! Kamigo POSTs `{event, timestamp, data}` for `message.received`, `member.joined`,
//! `member.left` and `file.uploaded`, signed with `X-Webhook-Signature: sha256=<hex>` (an
//! HMAC-SHA256 of the raw body). Any non-2xx is retried after 1, 5 and 30 minutes; the request
//! times out after 30 s. Kamigo documents no reply API, so replies go to the channel's outbox.

mod wire;

use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Event, EventKind, Member, Message, MessageType};
use bytes::Bytes;
use http::request::Parts;

use crate::auth::{HmacKeys, Secret, TagEncoding, verify_signature_header};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Parsed, Platform, Rejection, SettingError, Verified,
    content, json,
};

/// The platform id.
pub const ID: &str = "kamigo";
/// How long Kamigo waits for an answer.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(30);
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The acknowledgement body.
pub const ACK: &[u8] = br#"{"ok":true}"#;

/// The settings a Kamigo channel reads.
const KEYS: [&str; 2] = ["secret", "deadline"];

/// The Kamigo [`Platform`]: builds a [`KamigoAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Kamigo;

/// One Kamigo webhook.
#[derive(Debug, Clone)]
pub struct KamigoAdapter {
    keys: HmacKeys,
    deadline: Duration,
}

/// Why a Kamigo adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Kamigo channel needs its signing secret")]
pub struct MissingSecret;

impl KamigoAdapter {
    /// An adapter verifying with any of `secrets` (several for rotation).
    ///
    /// # Errors
    /// [`MissingSecret`] when `secrets` is empty.
    pub fn new(secrets: &[Secret]) -> Result<Self, MissingSecret> {
        if secrets.is_empty() {
            return Err(MissingSecret);
        }
        Ok(Self {
            keys: HmacKeys::from_secrets(secrets),
            deadline: DEFAULT_DEADLINE,
        })
    }

    /// How long Kamigo waits for an answer (default 30 s). The acknowledgement goes out at once;
    /// this bounds how long a duplicate waits for its original to be accepted.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

impl Platform for Kamigo {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let Ok(mut adapter) = KamigoAdapter::new(&settings.secrets("secret")?) else {
            return Ok(None);
        };
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(adapter)))
    }
}

impl Adapter for KamigoAdapter {
    fn platform(&self) -> &'static str {
        ID
    }

    fn mode(&self) -> Mode {
        Mode::ViaApi
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, request: &Parts, body: &[u8]) -> Result<(), Rejection> {
        verify_signature_header(
            &request.headers,
            SIGNATURE_HEADER,
            b"sha256=",
            TagEncoding::Hex,
            &self.keys,
            &[body],
        )
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let envelope: wire::Envelope = json::parse(&body)?;
        let data = envelope.data;
        let Some(channel) = data.channel_id.filter(|c| !c.is_empty()) else {
            // Kamigo's "send test" button and event types we do not know: acknowledge them.
            return Ok(Parsed::Ignored {
                reason: "an event without a channelId",
            });
        };
        let required = |field: &'static str| {
            Rejection::bad_request("invalid_field", format!("missing field `data.{field}`"))
        };
        let message_id = data.message_id.filter(|id| !id.is_empty());
        let (kind, sender) = match envelope.event.as_str() {
            "message.received" => {
                let id = message_id.clone().ok_or_else(|| required("messageId"))?;
                let message = content::message(data.message_type.as_deref(), data.content, id);
                (EventKind::Message(message), data.sender)
            }
            "file.uploaded" => {
                let id = message_id.clone().ok_or_else(|| required("messageId"))?;
                // The body names the kind of file; the size and the rest stay in the payload.
                let message =
                    Message::new(MessageType::File, data.file_type.unwrap_or_default()).with_id(id);
                (EventKind::Message(message), data.sender)
            }
            "member.joined" => {
                let member = data.member.ok_or_else(|| required("member"))?;
                (
                    EventKind::MembersJoined(vec![member_of(&member)]),
                    Some(member),
                )
            }
            "member.left" => {
                let member = data.member.ok_or_else(|| required("member"))?;
                (
                    EventKind::MembersLeft(vec![member_of(&member)]),
                    Some(member),
                )
            }
            other => (EventKind::Other(other.to_owned()), data.sender),
        };

        // Kamigo suggests event + messageId; events without one are told apart by channel,
        // member and time.
        let delivery_id = match message_id {
            Some(id) => format!("{}:{id}", envelope.event),
            None => format!(
                "{}:{channel}:{}:{}",
                envelope.event,
                sender.as_ref().map_or("", |m| m.user_id.as_str()),
                envelope.timestamp.as_deref().unwrap_or_default(),
            ),
        };
        let mut event = Event::new(kind).with_payload(body);
        if let Some(sender) = sender {
            event = event.with_sender(member_of(&sender));
        }
        Ok(Parsed::Event(Box::new(Inbound::new(
            delivery_id,
            channel,
            event,
        ))))
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(ACK)
    }
}

fn member_of(wire: &wire::WireMember) -> Member {
    let member = Member::new(wire.user_id.clone());
    match wire.display_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => member.with_name(name),
        None => member,
    }
}

#[cfg(test)]
mod tests;
