//! Slack Events API (platform id `slack`): acknowledge within Slack's 3 seconds, reply through
//! `chat.postMessage` ([`SlackOutbox`]).
//!
//! Slack signs each request with `X-Slack-Signature: v0=<hex HMAC-SHA256>` of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}` under the app's signing secret; a timestamp more
//! than five minutes from this clock, either way, is refused. The request URL's
//! `url_verification` is answered with its challenge. An event is delivered by `event_id`;
//! Slack retries one that was not acknowledged (`X-Slack-Retry-Num`), and a retry of one
//! already accepted gets the same acknowledgement. A refusal a retry cannot fix carries
//! `X-Slack-No-Retry: 1`.

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_core::{Event, EventKind, Member, Message, MessageType};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};

#[cfg(feature = "send-api")]
pub use outbox::SlackOutbox;

use crate::auth::{HmacKeys, Secret, TagEncoding, single_header, verify_tag};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "slack";
/// How long Slack waits for the acknowledgement.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(3);
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header (unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The header that numbers Slack's retries of one event.
pub const RETRY_HEADER: &str = "x-slack-retry-num";
/// The header that asks Slack not to retry.
pub const NO_RETRY_HEADER: &str = "x-slack-no-retry";
/// How far a request's timestamp may be from this clock, either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);
/// Slack's Web API base.
pub const DEFAULT_API_BASE: &str = "https://slack.com";

/// The settings a Slack channel reads.
const KEYS: [&str; 5] = ["secret", "bot_token", "api_base", "tolerance", "deadline"];

/// The Slack [`Platform`]: builds a [`SlackAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Slack;

/// One Slack app's Events API request URL.
#[derive(Debug, Clone)]
pub struct SlackAdapter {
    keys: HmacKeys,
    tolerance: Duration,
    deadline: Duration,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a Slack adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Slack channel needs the app's signing secret")]
pub struct MissingSecret;

/// Checks a Slack request's signature over `body` at unix time `now`, in constant time.
///
/// # Errors
/// 401: `missing_timestamp`, `invalid_timestamp`, `stale_timestamp`, `missing_signature` or
/// `invalid_signature`.
pub fn verify_request(
    keys: &HmacKeys,
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
    tolerance: Duration,
) -> Result<(), Rejection> {
    let timestamp =
        single_header(headers, TIMESTAMP_HEADER, "invalid_timestamp")?.ok_or_else(|| {
            Rejection::unauthorized("missing_timestamp", "no X-Slack-Request-Timestamp header")
        })?;
    let at = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| {
            Rejection::unauthorized(
                "invalid_timestamp",
                "X-Slack-Request-Timestamp is not unix seconds",
            )
        })?;
    if now.abs_diff(at) > tolerance.as_secs() {
        return Err(Rejection::unauthorized(
            "stale_timestamp",
            "X-Slack-Request-Timestamp is outside the accepted window",
        ));
    }
    let signature =
        single_header(headers, SIGNATURE_HEADER, "invalid_signature")?.ok_or_else(|| {
            Rejection::unauthorized("missing_signature", "no X-Slack-Signature header")
        })?;
    verify_tag(
        signature.strip_prefix(b"v0="),
        TagEncoding::Hex,
        keys,
        &[b"v0:", timestamp, b":", body],
    )
}

impl SlackAdapter {
    /// An adapter verifying with any of `secrets` (several for rotation), ±5 minutes.
    ///
    /// # Errors
    /// [`MissingSecret`] when `secrets` is empty.
    pub fn new(secrets: &[Secret]) -> Result<Self, MissingSecret> {
        if secrets.is_empty() {
            return Err(MissingSecret);
        }
        Ok(Self {
            keys: HmacKeys::from_secrets(secrets),
            tolerance: DEFAULT_TOLERANCE,
            deadline: DEFAULT_DEADLINE,
            outbox: None,
        })
    }

    /// How far a request's timestamp may be from this clock, either way (default 5 minutes).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// How long Slack waits for the acknowledgement (default 3 s).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sends replies through `chat.postMessage`.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: SlackOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }
}

impl Platform for Slack {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let Ok(mut adapter) = SlackAdapter::new(&settings.secrets("secret")?) else {
            return Ok(None);
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

/// The channel's Web API client, from `bot_token` (and `api_base`).
#[cfg(feature = "send-api")]
fn send_api(
    adapter: SlackAdapter,
    settings: &ChannelSettings,
) -> Result<SlackAdapter, SettingError> {
    let Some(token) = settings.secrets("bot_token")?.into_iter().next() else {
        if settings.text("api_base")?.is_some() {
            return Err(
                settings.error("bot_token", "missing: chat.postMessage needs the bot token")
            );
        }
        tracing::warn!(
            channel = settings.name(),
            "no Slack bot token (bot_token): replies are only logged and kept in the delivery log"
        );
        return Ok(adapter);
    };
    let base = settings.text("api_base")?.unwrap_or(DEFAULT_API_BASE);
    let outbox =
        SlackOutbox::new(base, token).map_err(|e| settings.error("api_base", &e.to_string()))?;
    Ok(adapter.with_outbox(outbox))
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(
    adapter: SlackAdapter,
    settings: &ChannelSettings,
) -> Result<SlackAdapter, SettingError> {
    settings.refuse_without("send-api", &["bot_token", "api_base"])?;
    Ok(adapter)
}

impl Adapter for SlackAdapter {
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        verify_request(&self.keys, &request.headers, body, now, self.tolerance)
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[RETRY_HEADER]
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let retried = body.header(RETRY_HEADER).is_some();
        let bytes = body.into_bytes();
        let envelope: wire::Envelope = json::parse(&bytes)?;
        match envelope.kind.as_str() {
            "url_verification" => {
                let challenge = envelope.challenge.ok_or_else(|| {
                    Rejection::bad_request("invalid_field", "missing field `challenge`")
                })?;
                let answer = serde_json::json!({ "challenge": challenge });
                return Ok(Parsed::Answer {
                    reason: "Slack's url_verification",
                    body: Bytes::from(answer.to_string()),
                });
            }
            "event_callback" => {}
            _ => {
                // app_rate_limited and kinds Slack may add: nothing to route.
                return Ok(Parsed::Ignored {
                    reason: "a Slack request that is not an event",
                });
            }
        }
        let required = |field: &'static str| {
            Rejection::bad_request("invalid_field", format!("missing field `{field}`"))
        };
        let event_id = envelope
            .event_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| required("event_id"))?;
        let event = envelope.event.ok_or_else(|| required("event"))?;
        if event.bot_id.is_some() || event.subtype.as_deref() == Some("bot_message") {
            // The bot's own messages come back as events: answering them would loop.
            return Ok(Parsed::Ignored {
                reason: "a bot's message",
            });
        }
        let Some(channel) = event.channel.clone().filter(|c| !c.is_empty()) else {
            return Ok(Parsed::Ignored {
                reason: "a Slack event outside a channel",
            });
        };
        let bot_user = envelope
            .authorizations
            .iter()
            .find(|a| a.is_bot)
            .and_then(|a| a.user_id.as_deref());
        let user = event
            .user
            .clone()
            .filter(|u| !u.is_empty())
            .map(Member::new);
        let kind = match (event.kind.as_str(), event.subtype.as_deref()) {
            ("message", None | Some("file_share" | "thread_broadcast")) => {
                EventKind::Message(message_of(&event, None))
            }
            ("message", Some(subtype)) => EventKind::Other(format!("message.{subtype}")),
            ("app_mention", _) => EventKind::Message(message_of(&event, bot_user)),
            ("member_joined_channel", _) => {
                EventKind::MembersJoined(user.clone().into_iter().collect())
            }
            ("member_left_channel", _) => {
                EventKind::MembersLeft(user.clone().into_iter().collect())
            }
            (other, _) => EventKind::Other(other.to_owned()),
        };
        let mut normalized = Event::new(kind)
            .with_payload(bytes)
            .with_redelivery(retried);
        if let Some(user) = user {
            normalized = normalized.with_sender(user);
        }
        Ok(Parsed::Event(Box::new(Inbound::new(
            event_id, channel, normalized,
        ))))
    }

    /// Slack reads only the status.
    fn no_op(&self) -> Bytes {
        Bytes::new()
    }

    /// A body Slack should not send again: a verified request that cannot be parsed, or one
    /// too large. A 401 (a secret mid-rotation), a 408 or a 503 may pass; those are retried.
    fn refusal_headers(&self, rejection: &Rejection, verified: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let hopeless = rejection.status == StatusCode::PAYLOAD_TOO_LARGE
            || (verified && rejection.status == StatusCode::BAD_REQUEST);
        if hopeless {
            headers.insert(NO_RETRY_HEADER, HeaderValue::from_static("1"));
        }
        headers
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// `chat.postMessage`'s special tier: about one message a second in one channel.
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: None,
            conversation: Some(Rate::new(1, Duration::from_secs(1))),
        }
    }
}

/// A message's text, without the leading mention of the bot an `app_mention` starts with.
fn message_of(event: &wire::InnerEvent, bot_user: Option<&str>) -> Message {
    let text = event.text.as_deref().unwrap_or_default();
    let text = bot_user
        .and_then(|bot| text.trim_start().strip_prefix(&format!("<@{bot}>")))
        .map_or(text, str::trim_start);
    let message = Message::new(MessageType::Text, text);
    match &event.ts {
        Some(ts) => message.with_id(ts.clone()),
        None => message,
    }
}

#[cfg(test)]
mod tests;
