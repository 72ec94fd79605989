//! Discord interactions (platform id `discord`): the reply in the HTTP response within
//! Discord's 3 seconds, or a deferred answer in time and the reply as a follow-up through the
//! interaction's webhook ([`DiscordOutbox`]).
//!
//! Discord POSTs each interaction signed with Ed25519: `X-Signature-Ed25519` is the hex
//! signature of `X-Signature-Timestamp` followed by the raw body, under the application's
//! public key. Discord sends bad signatures on purpose to check that they are refused (401).
//! A PING is answered `{"type":1}`; slash commands, components and modal submissions reach the
//! bot, each delivered once by its interaction id.

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_core::{Event, EventKind, Member, Message, MessageType, Reply};
use bytes::Bytes;
use ed25519_dalek::{Signature, VerifyingKey};
use http::request::Parts;

#[cfg(feature = "send-api")]
pub use outbox::DiscordOutbox;

use crate::auth::single_header;
use crate::text::first_chars;
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "discord";
/// How long Discord waits for the interaction's answer.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);
/// The signature header (hex).
pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
/// The timestamp header: signed, then the body.
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
/// Discord's API base.
pub const DEFAULT_API_BASE: &str = "https://discord.com/api/v10";
/// The most characters a message holds.
pub const TEXT_LIMIT: usize = 2_000;

/// Interaction types.
mod kind {
    pub(super) const PING: u8 = 1;
    pub(super) const APPLICATION_COMMAND: u8 = 2;
    pub(super) const MESSAGE_COMPONENT: u8 = 3;
    pub(super) const AUTOCOMPLETE: u8 = 4;
    pub(super) const MODAL_SUBMIT: u8 = 5;
}

/// Interaction response types (PONG, 1, and the autocomplete result, 8, are answered as
/// literals in `parse`).
mod answer {
    pub(super) const CHANNEL_MESSAGE: u8 = 4;
    pub(super) const DEFERRED_CHANNEL_MESSAGE: u8 = 5;
    pub(super) const DEFERRED_UPDATE_MESSAGE: u8 = 6;
}

/// Message flag: only the user who acted sees it.
const EPHEMERAL: u32 = 64;

/// The settings a Discord channel reads.
const KEYS: [&str; 5] = [
    "public_key",
    "application_id",
    "api_base",
    "tolerance",
    "deadline",
];

/// The Discord [`Platform`]: builds a [`DiscordAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Discord;

/// One Discord application's interactions endpoint.
#[derive(Debug, Clone)]
pub struct DiscordAdapter {
    keys: Vec<VerifyingKey>,
    tolerance: Option<Duration>,
    deadline: Duration,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a Discord adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKey {
    /// None was given.
    #[error("a Discord channel needs the application's public key")]
    Missing,
    /// One is not 64 hex digits of an Ed25519 public key.
    #[error("a Discord public key is the 64 hex digits the developer portal shows")]
    Malformed,
}

impl DiscordAdapter {
    /// An adapter verifying with any of the hex `public_keys` (several while one application
    /// replaces another), with no limit on a timestamp's age (Discord documents none).
    ///
    /// # Errors
    /// When there is none, or one is not an Ed25519 public key in hex.
    pub fn new<K: AsRef<str>>(public_keys: &[K]) -> Result<Self, InvalidKey> {
        if public_keys.is_empty() {
            return Err(InvalidKey::Missing);
        }
        let keys = public_keys
            .iter()
            .map(|key| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(key.as_ref().trim(), &mut bytes)
                    .map_err(|_| InvalidKey::Malformed)?;
                VerifyingKey::from_bytes(&bytes).map_err(|_| InvalidKey::Malformed)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            tolerance: None,
            deadline: DEFAULT_DEADLINE,
            outbox: None,
        })
    }

    /// Also refuses a request whose timestamp is further than `tolerance` from this clock,
    /// either way (off by default: Discord documents no window).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// How long Discord waits for the answer (default 3 s); a handler that takes longer gets a
    /// deferred answer in time and its reply as a follow-up.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sends late replies as follow-ups through the interaction's webhook.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: DiscordOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    fn check_age(&self, timestamp: &[u8]) -> Result<(), Rejection> {
        let Some(tolerance) = self.tolerance else {
            return Ok(());
        };
        let at = std::str::from_utf8(timestamp)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "invalid_timestamp",
                    "X-Signature-Timestamp is not unix seconds",
                )
            })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if now.abs_diff(at) > tolerance.as_secs() {
            return Err(Rejection::unauthorized(
                "stale_timestamp",
                "X-Signature-Timestamp is outside the accepted window",
            ));
        }
        Ok(())
    }
}

impl Platform for Discord {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let keys = settings.list("public_key")?;
        let mut adapter = match DiscordAdapter::new(&keys) {
            Ok(adapter) => adapter,
            Err(InvalidKey::Missing) => return Ok(None),
            Err(error) => return Err(settings.error("public_key", &error.to_string())),
        };
        if let Some(tolerance) = settings.positive_duration("tolerance")? {
            adapter = adapter.with_tolerance(tolerance);
        }
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(send_api(adapter, settings)?)))
    }
}

/// The follow-up client, from `application_id` (and `api_base`).
#[cfg(feature = "send-api")]
fn send_api(
    adapter: DiscordAdapter,
    settings: &ChannelSettings,
) -> Result<DiscordAdapter, SettingError> {
    let Some(application) = settings.text("application_id")?.map(str::trim) else {
        if settings.text("api_base")?.is_some() {
            return Err(settings.error(
                "application_id",
                "missing: follow-ups need the application's id",
            ));
        }
        tracing::warn!(
            channel = settings.name(),
            "no Discord application id (application_id): a late reply is lost; replies in time \
             still go out in the interaction's answer"
        );
        return Ok(adapter);
    };
    if application.is_empty() || !application.bytes().all(|b| b.is_ascii_digit()) {
        return Err(settings.error("application_id", "expected the application's numeric id"));
    }
    let base = settings.text("api_base")?.unwrap_or(DEFAULT_API_BASE);
    let outbox = DiscordOutbox::new(base, application)
        .map_err(|e| settings.error("api_base", &e.to_string()))?;
    Ok(adapter.with_outbox(outbox))
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(
    adapter: DiscordAdapter,
    settings: &ChannelSettings,
) -> Result<DiscordAdapter, SettingError> {
    settings.refuse_without("send-api", &["application_id", "api_base"])?;
    Ok(adapter)
}

impl Adapter for DiscordAdapter {
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
        let timestamp = single_header(&request.headers, TIMESTAMP_HEADER, "invalid_timestamp")?
            .ok_or_else(|| {
                Rejection::unauthorized("missing_timestamp", "no X-Signature-Timestamp header")
            })?;
        let signature = single_header(&request.headers, SIGNATURE_HEADER, "invalid_signature")?
            .ok_or_else(|| {
                Rejection::unauthorized("missing_signature", "no X-Signature-Ed25519 header")
            })?;
        let invalid = || {
            Rejection::unauthorized("invalid_signature", "the signature does not match the body")
        };
        let mut tag = [0u8; 64];
        hex::decode_to_slice(signature.trim_ascii(), &mut tag).map_err(|_| invalid())?;
        let signature = Signature::from_bytes(&tag);
        let signed = [timestamp, body].concat();
        // Every key is tried, so the time does not say which one matched.
        let matched = self.keys.iter().fold(false, |found, key| {
            key.verify_strict(&signed, &signature).is_ok() | found
        });
        if !matched {
            return Err(invalid());
        }
        self.check_age(timestamp)
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let interaction: wire::Interaction = json::parse(&body)?;
        let kind = match interaction.kind {
            kind::PING => {
                return Ok(Parsed::Answer {
                    reason: "Discord's PING",
                    body: Bytes::from_static(br#"{"type":1}"#),
                });
            }
            kind::AUTOCOMPLETE => {
                // Suggestions are not a reply a bot's state decides: none, at once.
                return Ok(Parsed::Answer {
                    reason: "a Discord autocomplete",
                    body: Bytes::from_static(br#"{"type":8,"data":{"choices":[]}}"#),
                });
            }
            kind::APPLICATION_COMMAND => {
                let data = interaction.data.as_ref();
                EventKind::Message(Message::new(MessageType::Text, command_text(data)))
            }
            kind::MESSAGE_COMPONENT => EventKind::Other("component".to_owned()),
            kind::MODAL_SUBMIT => EventKind::Other("modal_submit".to_owned()),
            other => EventKind::Other(format!("interaction_{other}")),
        };
        let channel = interaction
            .channel_id
            .or(interaction.channel.map(|c| c.id))
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Rejection::bad_request("invalid_field", "missing field `channel_id`"))?;
        let sender = match (interaction.member, interaction.user) {
            (Some(member), _) => Some(member_of(member.user, member.nick)),
            (None, Some(user)) => Some(member_of(user, None)),
            (None, None) => None,
        };
        let mut event = Event::new(kind).with_payload(body);
        if let Some(sender) = sender {
            event = event.with_sender(sender);
        }
        Ok(Parsed::Event(Box::new(Inbound::new(
            interaction.id,
            channel,
            event,
        ))))
    }

    /// A message in the channel (type 4) with the first 2,000 characters (what a message
    /// holds); with nothing to say, a component is acknowledged without a change (type 6),
    /// anything else with a deferral only the user sees.
    fn render_to(&self, delivery: &Inbound, reply: &Reply, _next_state: Option<&str>) -> Bytes {
        let response = match reply
            .out_message()
            .map(|m| m.body())
            .filter(|t| !t.is_empty())
        {
            Some(text) => wire::Response {
                kind: answer::CHANNEL_MESSAGE,
                data: Some(wire::MessageData {
                    content: Some(first_chars(text, TEXT_LIMIT)),
                    flags: None,
                }),
            },
            None if delivery.event.kind() == &EventKind::Other("component".to_owned()) => {
                wire::Response {
                    kind: answer::DEFERRED_UPDATE_MESSAGE,
                    data: None,
                }
            }
            None => wire::Response {
                kind: answer::DEFERRED_CHANNEL_MESSAGE,
                data: Some(wire::MessageData {
                    content: None,
                    flags: Some(EPHEMERAL),
                }),
            },
        };
        serde_json::to_vec(&response).map_or_else(|_| self.no_op(), Bytes::from)
    }

    /// A deferred answer (type 5): Discord shows that the bot is thinking, and the reply comes
    /// as a follow-up.
    fn no_op(&self) -> Bytes {
        Bytes::from_static(br#"{"type":5}"#)
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// Discord's global limit, 50 requests a second per bot.
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: Some(Rate::new(50, Duration::from_secs(1))),
            conversation: None,
        }
    }
}

/// What a slash command says, as text a bot reads like a message: the values of its options
/// (a subcommand's too) joined by spaces, or the command's name when it has none —
/// `/teach` is "teach", `/say text: ping => pong` is "ping => pong".
fn command_text(data: Option<&wire::Data>) -> String {
    fn values(options: &[wire::CommandOption], out: &mut Vec<String>) {
        for option in options {
            match &option.value {
                Some(serde_json::Value::String(text)) => out.push(text.clone()),
                Some(other) if !other.is_null() => out.push(other.to_string()),
                _ => {}
            }
            values(&option.options, out);
        }
    }
    let Some(data) = data else {
        return String::new();
    };
    let mut out = Vec::new();
    values(&data.options, &mut out);
    if out.is_empty() {
        data.name.clone().unwrap_or_default()
    } else {
        out.join(" ")
    }
}

fn member_of(user: wire::User, nick: Option<String>) -> Member {
    let name = nick.or(user.global_name).or(user.username);
    let member = Member::new(user.id).with_bot(user.bot);
    match name.filter(|n| !n.is_empty()) {
        Some(name) => member.with_name(name),
        None => member,
    }
}

/// The interaction's token, from the event it was parsed into (for its follow-up).
#[cfg(feature = "send-api")]
fn token_of(event: &Event) -> Option<String> {
    let answering: wire::Answering = event.payload().ok()?;
    answering.token.filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests;
