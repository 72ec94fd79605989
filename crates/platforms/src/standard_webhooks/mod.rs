//! Standard Webhooks (standardwebhooks.com; platform id `standard_webhooks`): the signing scheme
//! Svix and many SaaS products send with, both ways.
//!
//! The secret is `whsec_` + base64 of the key; the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` is a space-separated list of
//! `v1,<base64 HMAC-SHA256>`, of which any one may match (other versions are ignored), and the
//! timestamp must be within ±5 minutes.
//!
//! - Receiving ([`StandardWebhooksAdapter`], with the `standard-webhooks` feature): a generic
//!   channel for any such sender. `webhook-id` is the delivery id; the event's JSON reaches the
//!   handler as an [`EventKind::Other`](botwire_core::EventKind::Other) named by its `type`.
//!   It is acknowledged at once; there is no reply path beyond the channel's own outbox.
//! - Sending ([`WebhookSecret::sign`]): botwire signs the replies its
//!   [`HttpOutbox`](crate::HttpOutbox) posts this way, so the receiving service can verify them
//!   with any Standard Webhooks library.

#[cfg(feature = "standard-webhooks")]
mod receiver;
mod signature;
#[cfg(all(test, feature = "standard-webhooks"))]
mod tests;

#[cfg(feature = "standard-webhooks")]
pub use receiver::{
    ACK, DEFAULT_CONVERSATION, DEFAULT_DEADLINE, ID, StandardWebhooks, StandardWebhooksAdapter,
};
pub use signature::{
    DEFAULT_TOLERANCE, ID_HEADER, InvalidSecret, SIGNATURE_HEADER, TIMESTAMP_HEADER, VerifyError,
    WebhookSecret,
};
