//! The Standard Webhooks channel: verify, then hand the event's JSON to the bot.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_core::{Event, EventKind};
use bytes::Bytes;
use http::request::Parts;
use serde_json::Value;

use super::signature::{
    DEFAULT_TOLERANCE, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifyError, WebhookSecret,
};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Parsed, Platform, Rejection, SettingError, Verified,
    json,
};

/// The platform id.
pub const ID: &str = "standard_webhooks";
/// How long senders wait for an answer: the specification suggests 15 to 30 s.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(15);
/// The conversation every event belongs to unless `conversation` points elsewhere: one lane,
/// so events are handled in the order they were accepted.
pub const DEFAULT_CONVERSATION: &str = "webhooks";
/// The acknowledgement body (any 2xx is success to a sender).
pub const ACK: &[u8] = br#"{"ok":true}"#;

/// The event name when the payload has no `type` (the specification's payloads have one; a
/// sender that only signs by it may not).
const UNTYPED: &str = "webhook";

/// The settings a Standard Webhooks channel reads.
const KEYS: [&str; 4] = ["secret", "tolerance", "conversation", "deadline"];

/// The Standard Webhooks [`Platform`]: builds a [`StandardWebhooksAdapter`] from settings.
#[derive(Debug, Clone, Copy)]
pub struct StandardWebhooks;

/// One Standard Webhooks endpoint.
#[derive(Debug, Clone)]
pub struct StandardWebhooksAdapter {
    secret: WebhookSecret,
    tolerance: Duration,
    /// A JSON pointer to the field that names the conversation (`/data/customer_id`).
    conversation: Option<String>,
    deadline: Duration,
}

impl StandardWebhooksAdapter {
    /// An endpoint verifying with `secret` (`whsec_…`), ±5 minutes, every event in
    /// [`DEFAULT_CONVERSATION`].
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secret,
            tolerance: DEFAULT_TOLERANCE,
            conversation: None,
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// How far `webhook-timestamp` may be from this machine's clock, either way.
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Each event's conversation is the string or number at this JSON pointer in its payload
    /// (`/data/customer_id`), so events about different things are handled concurrently and
    /// each thing keeps its own bot state. An event without it is refused (400).
    #[must_use]
    pub fn with_conversation_at(mut self, pointer: impl Into<String>) -> Self {
        self.conversation = Some(pointer.into());
        self
    }

    /// How long the sender waits (default 15 s); bounds how long a duplicate waits for its
    /// original to be accepted.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    fn conversation_of(&self, payload: &Value) -> Result<String, Rejection> {
        let Some(pointer) = &self.conversation else {
            return Ok(DEFAULT_CONVERSATION.to_owned());
        };
        match payload.pointer(pointer) {
            Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
            Some(Value::Number(number)) => Ok(number.to_string()),
            Some(_) => Err(Rejection::bad_request(
                "invalid_field",
                format!("field `{pointer}` (the conversation) is not a string or number"),
            )),
            None => Err(Rejection::bad_request(
                "invalid_field",
                format!("missing field `{pointer}` (the conversation)"),
            )),
        }
    }
}

impl Platform for StandardWebhooks {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let secrets = settings.secrets("secret")?;
        if secrets.is_empty() {
            return Ok(None);
        }
        let secret = WebhookSecret::parse_any(&secrets)
            .map_err(|_| settings.error("secret", "expected whsec_ followed by base64"))?;
        let mut adapter = StandardWebhooksAdapter::new(secret);
        if let Some(tolerance) = settings.positive_duration("tolerance")? {
            adapter = adapter.with_tolerance(tolerance);
        }
        if let Some(pointer) = settings.text("conversation")? {
            if !pointer.starts_with('/') {
                return Err(settings.error(
                    "conversation",
                    "expected a JSON pointer such as /data/customer_id",
                ));
            }
            adapter = adapter.with_conversation_at(pointer);
        }
        if let Some(deadline) = settings.positive_duration("deadline")? {
            adapter = adapter.with_deadline(deadline);
        }
        Ok(Some(Arc::new(adapter)))
    }
}

impl Adapter for StandardWebhooksAdapter {
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
        for name in [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER] {
            if request.headers.get_all(name).iter().count() > 1 {
                return Err(Rejection::unauthorized(
                    "invalid_signature",
                    "a webhook-* header is given more than once",
                ));
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.secret
            .verify(&request.headers, body, now, self.tolerance)
            .map_err(|error| match error {
                VerifyError::Header(ID_HEADER) => {
                    Rejection::unauthorized("missing_id", "no webhook-id header")
                }
                VerifyError::Header(TIMESTAMP_HEADER) => Rejection::unauthorized(
                    "invalid_timestamp",
                    "webhook-timestamp is missing or not unix seconds",
                ),
                VerifyError::Header(_) => {
                    Rejection::unauthorized("missing_signature", "no webhook-signature header")
                }
                VerifyError::Stale => Rejection::unauthorized(
                    "stale_timestamp",
                    "webhook-timestamp is outside the accepted window",
                ),
                _ => Rejection::unauthorized(
                    "invalid_signature",
                    "no webhook-signature matches the body",
                ),
            })
    }

    fn kept_headers(&self) -> &'static [&'static str] {
        &[ID_HEADER]
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let Some(id) = body
            .header(ID_HEADER)
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            // Verification needs it: only a body stored without its headers lacks it.
            return Err(Rejection::bad_request(
                "missing_id",
                "the delivery has no webhook-id",
            ));
        };
        let delivery_id = id.to_owned();
        let payload: Value = json::parse(body.bytes())?;
        if !payload.is_object() {
            return Err(Rejection::bad_request(
                "invalid_field",
                "the body must be a JSON object",
            ));
        }
        let kind = match payload.get("type") {
            None | Some(Value::Null) => UNTYPED.to_owned(),
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            Some(_) => {
                return Err(Rejection::bad_request(
                    "invalid_field",
                    "field `type` is not a non-empty string",
                ));
            }
        };
        let conversation = self.conversation_of(&payload)?;
        let event = Event::new(EventKind::Other(kind)).with_payload(body.into_bytes());
        Ok(Parsed::Event(Box::new(Inbound::new(
            delivery_id,
            conversation,
            event,
        ))))
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(ACK)
    }
}
