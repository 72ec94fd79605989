//! Discord interactions as Discord POSTs them (its documentation's examples), signed with
//! Ed25519 over `X-Signature-Timestamp` followed by the body.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire_platforms::discord::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use bytes::Bytes;
use ed25519_dalek::{Signer as _, SigningKey};
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post};

/// Marks Discord interactions.
#[derive(Debug, Clone, Copy)]
pub struct Discord;

/// A Discord interaction under construction; defaults follow Discord's example (member
/// Mason in channel `645027906669510667` of guild `290926798626357999`).
pub type Event = crate::Event<Discord>;

/// The channel interactions come from unless told otherwise.
pub const CHANNEL: &str = "645027906669510667";
/// The application they are for.
pub const APPLICATION_ID: &str = "290926444748734465";
/// RFC 8032's first test key: the secret half, for [`Signer::rfc8032`].
pub const RFC8032_SECRET_KEY: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// Its public half, to configure (`public_key`).
pub const RFC8032_PUBLIC_KEY: &str =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn interaction(kind: u8, data: Value) -> Event {
    Event::new(json!({
        "id": fresh_id("7860087297"),
        "application_id": APPLICATION_ID,
        "type": kind,
        "token": fresh_id("interaction-token-"),
        "guild_id": "290926798626357999",
        "channel_id": CHANNEL,
        "member": {
            "user": { "id": "53908232506183680", "username": "mason", "global_name": "Mason" },
            "roles": [],
            "permissions": "2147483647",
        },
        "data": data,
        "version": 1,
    }))
}

/// The PING Discord sends when the endpoint is saved.
pub fn ping() -> Event {
    Event::new(
        json!({ "id": fresh_id("7870530804"), "token": "ThisIsATokenFromDiscordThatIsVeryLong",
                       "type": 1, "version": 1 }),
    )
}

/// A slash command `/name` with one string option `text` when `text` is given.
pub fn command(name: &str, text: Option<&str>) -> Event {
    let options: Vec<Value> = text
        .map(|text| json!({ "type": 3, "name": "text", "value": text }))
        .into_iter()
        .collect();
    interaction(
        2,
        json!({ "id": "771825006014889984", "type": 1, "name": name, "options": options }),
    )
}

/// `/say text: <text>`: what the sample bot reads as the message `text`.
pub fn say(text: &str) -> Event {
    command("say", Some(text))
}

/// A button with `custom_id` pressed.
pub fn button(custom_id: &str) -> Event {
    interaction(3, json!({ "custom_id": custom_id, "component_type": 2 }))
}

impl Event {
    /// Puts the interaction in channel `channel_id`.
    pub fn channel(self, channel_id: &str) -> Self {
        self.set("/channel_id", channel_id)
    }

    /// Sets the delivery id (the interaction's `id`).
    pub fn id(self, id: &str) -> Self {
        self.set("/id", id)
    }

    /// The interaction's token (what a follow-up is posted with).
    pub fn token(&self) -> &str {
        self.value["token"].as_str().unwrap_or_default()
    }
}

/// Signs as Discord does, at the current time unless told otherwise.
#[derive(Debug, Clone)]
#[must_use]
pub struct Signer {
    key: SigningKey,
    timestamp: Option<u64>,
}

impl Signer {
    /// Signs with the Ed25519 secret key whose 32 bytes are `secret_key`.
    pub fn new(secret_key: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&secret_key),
            timestamp: None,
        }
    }

    /// Signs with RFC 8032's first test key ([`RFC8032_PUBLIC_KEY`] verifies).
    pub fn rfc8032() -> Self {
        let mut secret = [0u8; 32];
        // A constant of this module: 64 hex digits.
        let _ = hex::decode_to_slice(RFC8032_SECRET_KEY, &mut secret);
        Self::new(secret)
    }

    /// The public key that verifies this signer's signatures, in hex.
    pub fn public_key(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    /// Signs at this unix time (seconds) instead of now.
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// The timestamp and signature headers' values for `body`.
    pub fn headers(&self, body: &[u8]) -> (String, String) {
        let timestamp = self
            .timestamp
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or_default()
            })
            .to_string();
        let signed = [timestamp.as_bytes(), body].concat();
        (timestamp, hex::encode(self.key.sign(&signed).to_bytes()))
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        let (timestamp, signature) = self.headers(&body);
        post(
            path,
            &[(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)],
            body,
        )
    }
}
