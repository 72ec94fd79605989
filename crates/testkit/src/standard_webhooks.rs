//! Standard Webhooks deliveries as a sender following the specification makes them (its own
//! example payloads), signed with `webhook-id`, `webhook-timestamp` and `webhook-signature`.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire_platforms::auth::Secret;
use botwire_platforms::standard_webhooks::{
    ID_HEADER, InvalidSecret, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret,
};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::json;

use crate::event::{fresh_id, post};

/// Marks Standard Webhooks deliveries.
#[derive(Debug, Clone, Copy)]
pub struct StandardWebhooks;

/// A Standard Webhooks payload under construction; defaults follow the specification's
/// examples.
pub type Event = crate::Event<StandardWebhooks>;

/// A secret in the specification's format, for tests and the sample bot's instructions.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The specification's thin `contact.created` payload, about contact `contact_id`.
pub fn contact_created(contact_id: &str) -> Event {
    event("contact.created", json!({ "id": contact_id }))
}

/// A payload of type `kind` with this `data`.
pub fn event(kind: &str, data: serde_json::Value) -> Event {
    Event::new(json!({
        "type": kind,
        "timestamp": "2022-11-03T20:26:10.344522Z",
        "data": data,
    }))
}

/// A fresh message id in the specification's style (`msg_…`).
pub fn message_id() -> String {
    fresh_id("msg_")
}

/// Signs deliveries as the specification says.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    secret: WebhookSecret,
    timestamp: Option<u64>,
}

impl Signer {
    /// Signs with `secret` (`whsec_…`, or the bare base64) at the current time.
    ///
    /// # Errors
    /// When `secret` is not a Standard Webhooks secret.
    pub fn new(secret: &str) -> Result<Self, InvalidSecret> {
        Ok(Self {
            secret: WebhookSecret::parse(&Secret::new(secret))?,
            timestamp: None,
        })
    }

    /// Signs at this unix time (seconds) instead of now: for stale or future requests.
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The `webhook-timestamp` and `webhook-signature` values for message `id` with `body`.
    pub fn headers(&self, id: &str, body: &[u8]) -> (String, String) {
        let timestamp = self.timestamp.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default()
        });
        (timestamp.to_string(), self.secret.sign(id, timestamp, body))
    }

    /// A signed POST of `body` to `path` as message `id` (resend it with the same id and it
    /// is the same delivery).
    pub fn request_with_id(
        &self,
        path: &str,
        id: &str,
        body: impl Into<Bytes>,
    ) -> Request<Full<Bytes>> {
        let body = body.into();
        let (timestamp, signature) = self.headers(id, &body);
        post(
            path,
            &[
                (ID_HEADER, id.to_owned()),
                (TIMESTAMP_HEADER, timestamp),
                (SIGNATURE_HEADER, signature),
            ],
            body,
        )
    }

    /// A signed POST of `body` to `path` under a fresh message id.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        self.request_with_id(path, &message_id(), body)
    }
}
