//! Chatwork (platform id `chatwork`): acknowledge with 200 at once, reply through the REST API.
//!
//! Chatwork POSTs `{webhook_setting_id, webhook_event_type, webhook_event_time, webhook_event}`
//! and signs it: `X-ChatWorkWebhookSignature` (or the query parameter
//! `chatwork_webhook_signature`) is the base64 HMAC-SHA256 of the raw body, keyed with the
//! base64-decoded webhook token. It waits 10 s, reads at most 512 bytes back, and never resends,
//! so every verified delivery is answered 200 and botwire owns the retries from there. Replies go
//! out through [`ChatworkOutbox`].

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire_core::{Event, EventKind, Member, Message};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;

#[cfg(feature = "send-api")]
pub use outbox::{ChatworkOutbox, DEFAULT_API_BASE};

use crate::auth::{HmacKeys, Secret, TagEncoding, single_header, single_query_param, verify_tag};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, json,
};

/// The platform id.
pub const ID: &str = "chatwork";
/// How long Chatwork waits for an answer.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// The signature header (Chatwork sends it in any case; header names are case-insensitive).
pub const SIGNATURE_HEADER: &str = "x-chatworkwebhooksignature";
/// The query parameter that carries the signature when the header is not used.
pub const SIGNATURE_PARAM: &str = "chatwork_webhook_signature";
/// The acknowledgement body.
pub const ACK: &[u8] = br#"{"ok":true}"#;
/// The most Chatwork reads of a response body.
pub const MAX_RESPONSE_BYTES: usize = 512;

/// The settings a Chatwork channel reads.
const KEYS: [&str; 5] = ["token", "api_token", "api_base", "account_id", "deadline"];

/// The Chatwork [`Platform`]: builds a [`ChatworkAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Chatwork;

/// One Chatwork webhook.
#[derive(Debug, Clone)]
pub struct ChatworkAdapter {
    keys: HmacKeys,
    deadline: Duration,
    account_id: Option<String>,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a Chatwork adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatworkError {
    /// No webhook token was given.
    #[error("a Chatwork channel needs its webhook token")]
    MissingToken,
    /// A webhook token is not base64, as Chatwork shows it.
    #[error("the Chatwork webhook token is not base64: paste it as Chatwork's settings show it")]
    TokenNotBase64,
}

impl ChatworkAdapter {
    /// An adapter verifying with any of `tokens` (each as Chatwork's webhook settings show it,
    /// in base64; several for rotation).
    ///
    /// # Errors
    /// When `tokens` is empty or one is not base64.
    pub fn new(tokens: &[Secret]) -> Result<Self, ChatworkError> {
        if tokens.is_empty() {
            return Err(ChatworkError::MissingToken);
        }
        let keys = tokens
            .iter()
            .map(|token| BASE64.decode(token.expose().trim()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ChatworkError::TokenNotBase64)?;
        Ok(Self {
            keys: HmacKeys::new(keys),
            deadline: DEFAULT_DEADLINE,
            account_id: None,
            outbox: None,
        })
    }

    /// How long Chatwork waits (default 10 s).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The bot's own account id: its own messages (which the room's webhook also reports) are
    /// acknowledged and not handled, so a bot never answers itself.
    #[must_use]
    pub fn with_account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = Some(account_id.into());
        self
    }

    /// Sends replies through `outbox`.
    #[must_use]
    #[cfg(feature = "send-api")]
    pub fn with_outbox(mut self, outbox: ChatworkOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }
}

impl Platform for Chatwork {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let mut adapter = match ChatworkAdapter::new(&settings.secrets("token")?) {
            Ok(adapter) => adapter,
            Err(ChatworkError::MissingToken) => return Ok(None),
            Err(error) => return Err(settings.error("token", &error.to_string())),
        };
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        if let Some(account_id) = settings.text("account_id")? {
            adapter = adapter.with_account_id(account_id.trim());
        }
        Ok(Some(Arc::new(send_api(adapter, settings)?)))
    }
}

/// The channel's send API, from `api_token` (and `api_base`).
#[cfg(feature = "send-api")]
fn send_api(
    adapter: ChatworkAdapter,
    settings: &ChannelSettings,
) -> Result<ChatworkAdapter, SettingError> {
    let api_base = settings.text("api_base")?;
    match settings.secrets("api_token")?.into_iter().next() {
        Some(api_token) => {
            let base = api_base.unwrap_or(DEFAULT_API_BASE);
            let outbox = ChatworkOutbox::new(base, api_token)
                .map_err(|e| settings.error("api_base", &e.to_string()))?;
            Ok(adapter.with_outbox(outbox))
        }
        None => {
            tracing::warn!(
                channel = settings.name(),
                "no Chatwork API token (api_token): replies are only logged and kept in the \
                 delivery log"
            );
            Ok(adapter)
        }
    }
}

/// Without the send API compiled in, its settings are refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn send_api(
    adapter: ChatworkAdapter,
    settings: &ChannelSettings,
) -> Result<ChatworkAdapter, SettingError> {
    settings.refuse_without("send-api", &["api_token", "api_base"])?;
    Ok(adapter)
}

impl Adapter for ChatworkAdapter {
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
        let header = single_header(&request.headers, SIGNATURE_HEADER, "invalid_signature")?;
        let signature = match header {
            Some(value) => value.to_vec(),
            None => {
                let param =
                    single_query_param(request.uri.query(), SIGNATURE_PARAM, "invalid_signature")?
                        .ok_or_else(|| {
                            Rejection::unauthorized(
                                "missing_signature",
                                "no X-ChatWorkWebhookSignature header or signature parameter",
                            )
                        })?;
                // A `+` the sender did not percent-encode arrives as a space; base64 has none.
                param.replace(' ', "+").into_bytes()
            }
        };
        verify_tag(Some(&signature), TagEncoding::Base64, &self.keys, &[body])
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let envelope: wire::Envelope = json::parse(&body)?;
        let event_type = envelope.webhook_event_type;
        let wire = envelope.webhook_event.unwrap_or_default();
        let Some(room) = wire.room_id.filter(|r| !r.is_empty()) else {
            return Ok(Parsed::Ignored {
                reason: "an event without a room_id",
            });
        };
        let required = |field: &'static str| {
            Rejection::bad_request(
                "invalid_field",
                format!("missing field `webhook_event.{field}`"),
            )
        };
        let (kind, sender, delivery_id) = match event_type.as_str() {
            "message_created" | "message_updated" | "mention_to_me" => {
                let message_id = wire.message_id.ok_or_else(|| required("message_id"))?;
                let sender = if event_type == "mention_to_me" {
                    wire.from_account_id
                } else {
                    wire.account_id
                };
                if sender.is_some() && sender == self.account_id {
                    return Ok(Parsed::Ignored {
                        reason: "the bot's own message",
                    });
                }
                // An edit is a new event with the same message id: update_time tells them apart.
                let id = format!(
                    "{event_type}:{message_id}:{}",
                    wire.update_time.unwrap_or_default()
                );
                let message = Message::text(wire.body.unwrap_or_default()).with_id(message_id);
                (EventKind::Message(message), sender, id)
            }
            other => {
                let id = format!(
                    "{other}:{}:{}",
                    wire.message_id.unwrap_or_default(),
                    wire.update_time.unwrap_or_default()
                );
                (EventKind::Other(other.to_owned()), wire.account_id, id)
            }
        };
        let mut event = Event::new(kind).with_payload(body);
        if let Some(sender) = sender {
            event = event.with_sender(Member::new(sender));
        }
        Ok(Parsed::Event(Box::new(Inbound::new(
            delivery_id,
            room,
            event,
        ))))
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(ACK)
    }

    /// Chatwork never resends: a verified delivery is answered 200 whatever happened, with a
    /// short body naming the problem.
    fn refuse(&self, rejection: &Rejection, verified: bool) -> (StatusCode, Bytes) {
        let mut body = rejection.body();
        if body.len() > MAX_RESPONSE_BYTES {
            body = Bytes::from_static(br#"{"error":"refused"}"#);
        }
        let status = if verified {
            StatusCode::OK
        } else {
            rejection.status
        };
        (status, body)
    }

    fn sender_retries(&self) -> bool {
        false
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// 300 requests per 5 minutes per API token, 10 posts per 10 s per room (Chatwork's API
    /// documentation).
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: Some(Rate::new(300, Duration::from_secs(5 * 60))),
            conversation: Some(Rate::new(10, Duration::from_secs(10))),
        }
    }
}

#[cfg(test)]
mod tests;
