//! WeChatPadPro (platform id `wechatpadpro`): acknowledge at once, reply through the gateway's
//! send API ([`WeChatPadProOutbox`]).
//!
//! The gateway POSTs one message object per delivery with `X-Webhook-Timestamp` (unix seconds)
//! and `X-Webhook-Signature`, the hex HMAC-SHA256 of `timestamp:body` (its guide) or
//! `timestamp` + body (its own client tests): the variant is chosen per channel. Requests older
//! or newer than the window (default ±300 s) are refused. It retries failures and wants a 200
//! within 5 s. The receiver filters what the sender can filter too: message types, the
//! account's own messages, and history messages.

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_core::{Event, EventKind, Member, Message, MessageType};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use serde_json::Value;

#[cfg(feature = "send-api")]
pub use outbox::WeChatPadProOutbox;

use crate::auth::{HmacKeys, Secret, TagEncoding, single_header, verify_signature_header};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "wechatpadpro";
/// How long the gateway is asked to be answered within.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// How far a request's timestamp may be from the receiver's clock.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The acknowledgement body, as the seed's reference receiver answers.
pub const ACK: &[u8] = br#"{"status":"success"}"#;

/// The settings a WeChatPadPro channel reads.
const KEYS: [&str; 10] = [
    "secret",
    "api_base",
    "api_key",
    "mention",
    "signing",
    "window",
    "message_types",
    "include_self",
    "include_history",
    "deadline",
];

/// What the signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Signing {
    /// `timestamp + ":" + body` (the gateway's guide; the default).
    #[default]
    Colon,
    /// `timestamp + body` (the gateway's own client tests).
    Concat,
}

/// Message types (`msgType`) the gateway documents.
pub mod msg_type {
    /// Text.
    pub const TEXT: i64 = 1;
    /// Image.
    pub const IMAGE: i64 = 3;
    /// Voice.
    pub const VOICE: i64 = 34;
    /// Video.
    pub const VIDEO: i64 = 43;
    /// Emoji (a sticker).
    pub const EMOJI: i64 = 47;
    /// A link; its content is an object.
    pub const LINK: i64 = 49;
    /// A system notice.
    pub const SYSTEM: i64 = 10000;
    /// A recalled message.
    pub const RECALL: i64 = 10002;
}

/// The WeChatPadPro [`Platform`]: builds a [`WeChatPadProAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct WeChatPadPro;

/// One WeChatPadPro webhook.
#[derive(Debug, Clone)]
pub struct WeChatPadProAdapter {
    keys: HmacKeys,
    signing: Signing,
    window: Duration,
    message_types: Option<HashSet<i64>>,
    include_self: bool,
    include_history: bool,
    deadline: Duration,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a WeChatPadPro adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a WeChatPadPro channel needs its signing secret")]
pub struct MissingSecret;

impl WeChatPadProAdapter {
    /// An adapter verifying with any of `secrets`, signing variant [`Signing::Colon`], window
    /// ±300 s, every message type, without the account's own or history messages.
    ///
    /// # Errors
    /// [`MissingSecret`] when `secrets` is empty.
    pub fn new(secrets: &[Secret]) -> Result<Self, MissingSecret> {
        if secrets.is_empty() {
            return Err(MissingSecret);
        }
        Ok(Self {
            keys: HmacKeys::from_secrets(secrets),
            signing: Signing::default(),
            window: DEFAULT_WINDOW,
            message_types: None,
            include_self: false,
            include_history: false,
            deadline: DEFAULT_DEADLINE,
            outbox: None,
        })
    }

    /// What the signature covers.
    #[must_use]
    pub fn with_signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    /// How far a timestamp may be from this machine's clock, either way.
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Handles only these message types; others are acknowledged and not handled.
    #[must_use]
    pub fn with_message_types(mut self, types: impl IntoIterator<Item = i64>) -> Self {
        self.message_types = Some(types.into_iter().collect());
        self
    }

    /// Whether the account's own messages are handled (default: no, so a bot never answers
    /// itself).
    #[must_use]
    pub fn with_self_messages(mut self, include: bool) -> Self {
        self.include_self = include;
        self
    }

    /// Whether history messages (synced, not new) are handled (default: no).
    #[must_use]
    pub fn with_history(mut self, include: bool) -> Self {
        self.include_history = include;
        self
    }

    /// How long the gateway waits (default 5 s).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sends replies through the gateway's send API.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: WeChatPadProOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    fn check_timestamp(&self, request: &Parts) -> Result<u64, Rejection> {
        let header = single_header(&request.headers, TIMESTAMP_HEADER, "invalid_timestamp")?
            .ok_or_else(|| {
                Rejection::unauthorized("missing_timestamp", "no X-Webhook-Timestamp header")
            })?;
        let timestamp = std::str::from_utf8(header)
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                Rejection::unauthorized(
                    "invalid_timestamp",
                    "X-Webhook-Timestamp is not unix seconds",
                )
            })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if now.abs_diff(timestamp) > self.window.as_secs() {
            return Err(Rejection::unauthorized(
                "stale_timestamp",
                "X-Webhook-Timestamp is outside the accepted window",
            ));
        }
        Ok(timestamp)
    }
}

impl Platform for WeChatPadPro {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let Ok(mut adapter) = WeChatPadProAdapter::new(&settings.secrets("secret")?) else {
            return Ok(None);
        };
        match settings.text("signing")?.map(str::trim) {
            None | Some("colon") => {}
            Some("concat") => adapter = adapter.with_signing(Signing::Concat),
            Some(_) => return Err(settings.error("signing", "expected \"colon\" or \"concat\"")),
        }
        if let Some(window) = settings.positive_duration("window")? {
            adapter = adapter.with_window(window);
        }
        let types = settings.list("message_types")?;
        if !types.is_empty() {
            let parsed = types
                .iter()
                .map(|t| t.parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    settings.error(
                        "message_types",
                        "expected message type numbers, e.g. 1,3,49",
                    )
                })?;
            adapter = adapter.with_message_types(parsed);
        }
        if let Some(include) = settings.flag("include_self")? {
            adapter = adapter.with_self_messages(include);
        }
        if let Some(include) = settings.flag("include_history")? {
            adapter = adapter.with_history(include);
        }
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(send_api(adapter, settings)?)))
    }
}

/// The channel's send API, from `api_base` and `api_key` (and `mention`).
#[cfg(feature = "send-api")]
fn send_api(
    adapter: WeChatPadProAdapter,
    settings: &ChannelSettings,
) -> Result<WeChatPadProAdapter, SettingError> {
    let mention = settings.flag("mention")?.unwrap_or(false);
    let key = settings.secrets("api_key")?.into_iter().next();
    match (settings.text("api_base")?, key) {
        (Some(base), Some(key)) => {
            let outbox = WeChatPadProOutbox::new(base, key)
                .map_err(|e| settings.error("api_base", &e.to_string()))?
                .with_mention(mention);
            Ok(adapter.with_outbox(outbox))
        }
        // The gateway is self-hosted: there is no default base to assume.
        (Some(_), None) => {
            Err(settings.error("api_key", "missing: api_base needs the account's key"))
        }
        (None, Some(_)) => {
            Err(settings.error("api_base", "missing: api_key needs the gateway's URL"))
        }
        (None, None) => {
            tracing::warn!(
                channel = settings.name(),
                "no WeChatPadPro send API (api_base, api_key): replies are only logged and kept \
                 in the delivery log"
            );
            Ok(adapter)
        }
    }
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(
    adapter: WeChatPadProAdapter,
    settings: &ChannelSettings,
) -> Result<WeChatPadProAdapter, SettingError> {
    settings.refuse_without("send-api", &["api_base", "api_key", "mention"])?;
    Ok(adapter)
}

impl Adapter for WeChatPadProAdapter {
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
        let timestamp = self.check_timestamp(request)?.to_string();
        let separator: &[u8] = match self.signing {
            Signing::Colon => b":",
            Signing::Concat => b"",
        };
        verify_signature_header(
            &request.headers,
            SIGNATURE_HEADER,
            b"",
            TagEncoding::Hex,
            &self.keys,
            &[timestamp.as_bytes(), separator, body],
        )
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let wire: wire::Delivery = json::parse(&body)?;
        if wire.msg_id.is_empty() {
            return Err(Rejection::bad_request(
                "invalid_field",
                "missing field `msgId`",
            ));
        }
        if wire.is_history && !self.include_history {
            return Ok(Parsed::Ignored {
                reason: "a history message",
            });
        }
        if wire.is_self_msg && !self.include_self {
            return Ok(Parsed::Ignored {
                reason: "the account's own message",
            });
        }
        let msg_type = wire.msg_type.unwrap_or(msg_type::TEXT);
        if self
            .message_types
            .as_ref()
            .is_some_and(|types| !types.contains(&msg_type))
        {
            return Ok(Parsed::Ignored {
                reason: "a filtered message type",
            });
        }
        let from = wire.from_user.unwrap_or_default();
        let to = wire.to_user.unwrap_or_default();
        let is_group = |id: &str| id.ends_with("@chatroom");
        // The conversation is the group, or else the other party of a one-to-one chat.
        let conversation = if is_group(&from) {
            from.clone()
        } else if is_group(&to) || wire.is_self_msg {
            to.clone()
        } else {
            from.clone()
        };
        if conversation.is_empty() {
            return Err(Rejection::bad_request(
                "invalid_field",
                "missing field `fromUser`",
            ));
        }
        let mut content = match wire.content {
            Some(Value::String(text)) => text,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        // In a group, WeChat prefixes the content with the real sender: "wxid_x:\ntext".
        let mut sender = from;
        if is_group(&sender)
            && let Some((member, rest)) = split_group_sender(&content)
        {
            sender = member.to_owned();
            content = rest.to_owned();
        }
        let kind = match msg_type {
            msg_type::SYSTEM => EventKind::Other("system".into()),
            msg_type::RECALL => EventKind::Other("recall".into()),
            other => {
                let message_type = match other {
                    msg_type::TEXT => MessageType::Text,
                    msg_type::IMAGE => MessageType::Image,
                    msg_type::VOICE => MessageType::Audio,
                    msg_type::VIDEO => MessageType::Video,
                    msg_type::EMOJI => MessageType::Sticker,
                    msg_type::LINK => MessageType::Url,
                    n => MessageType::Other(n.to_string()),
                };
                EventKind::Message(Message::new(message_type, content).with_id(wire.msg_id.clone()))
            }
        };
        let event = Event::new(kind)
            .with_sender(Member::new(sender))
            .with_payload(body);
        Ok(Parsed::Event(Box::new(Inbound::new(
            wire.msg_id,
            conversation,
            event,
        ))))
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(ACK)
    }

    /// The seed's reference receiver's error shape: `{"status":"error","message":…}`.
    fn refuse(&self, rejection: &Rejection, _verified: bool) -> (StatusCode, Bytes) {
        let body = serde_json::json!({
            "status": "error",
            "error": rejection.code,
            "message": rejection.message,
        });
        (rejection.status, Bytes::from(body.to_string()))
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// The gateway documents no limit, and WeChat punishes bursts: 20 messages a minute per
    /// conversation, a pace a person keeps.
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: None,
            conversation: Some(Rate::new(20, Duration::from_secs(60))),
        }
    }
}

/// `("wxid_x", "text")` from `"wxid_x:\ntext"`, when the content has that shape.
fn split_group_sender(content: &str) -> Option<(&str, &str)> {
    let (member, rest) = content.split_once(":\n")?;
    let plausible =
        !member.is_empty() && member.len() <= 64 && !member.contains(char::is_whitespace);
    plausible.then_some((member, rest))
}

#[cfg(test)]
mod tests;
