//! Properties of every platform's verifier and parser, over arbitrary input: nothing panics;
//! what the testkit signs always verifies; any one-byte change to the body (where the
//! signature covers it) or the signature never does.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::ChatworkAdapter;
use botwire::platforms::discord::DiscordAdapter;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::line::LineAdapter;
use botwire::platforms::slack::SlackAdapter;
use botwire::platforms::standard_webhooks::{StandardWebhooksAdapter, WebhookSecret};
use botwire::platforms::telegram::TelegramAdapter;
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire::platforms::{Adapter, Verified};
use botwire_testkit::{
    chatwork, discord, funtek, kamigo, line, slack, standard_webhooks, telegram, wechatpadpro,
};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Request};
use http_body_util::Full;
use proptest::prelude::*;

/// How a platform's signature header encodes its tag, to tell a real change from a re-spelling
/// (upper-case hex is the same tag).
#[derive(Clone, Copy)]
enum Encoding {
    /// `prefix` then hex.
    Hex(&'static str),
    Base64,
    /// `prefix` then base64.
    PrefixedBase64(&'static str),
    /// The secret itself (Telegram's token): any change is another token.
    Token,
}

impl Encoding {
    /// The tag a header value stands for, `None` when it stands for none.
    fn tag(self, value: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Hex(prefix) => {
                hex::decode(value.strip_prefix(prefix.as_bytes())?.trim_ascii()).ok()
            }
            Self::Base64 => BASE64.decode(value.trim_ascii()).ok(),
            Self::Token => Some(value.to_vec()),
            Self::PrefixedBase64(prefix) => BASE64
                .decode(value.strip_prefix(prefix.as_bytes())?.trim_ascii())
                .ok(),
        }
    }
}

/// One platform: an adapter for `secret`, and the testkit's signer for the same secret.
struct Platform {
    name: &'static str,
    adapter: fn(&str) -> Arc<dyn Adapter>,
    sign: fn(&str, Bytes) -> Request<Full<Bytes>>,
    header: &'static str,
    encoding: Encoding,
    /// Whether the credential covers the body (Telegram's token does not: it only says the
    /// request came from Telegram, which sends over TLS).
    binds_body: bool,
}

fn platforms() -> [Platform; 9] {
    [
        Platform {
            name: "funtek",
            adapter: |secret| {
                Arc::new(
                    FuntekAdapter::builder()
                        .token("t")
                        .signing_secret(secret)
                        .build()
                        .expect("credentials"),
                )
            },
            sign: |secret, body| funtek::Signer::token("t").hmac(secret).request("/w", body),
            header: botwire::platforms::funtek::SIGNATURE_HEADER,
            encoding: Encoding::Hex("sha256="),
            binds_body: true,
        },
        Platform {
            name: "kamigo",
            adapter: |secret| {
                Arc::new(KamigoAdapter::new(&[Secret::new(secret)]).expect("a secret"))
            },
            sign: |secret, body| kamigo::Signer::new(secret).request("/w", body),
            header: botwire::platforms::kamigo::SIGNATURE_HEADER,
            encoding: Encoding::Hex("sha256="),
            binds_body: true,
        },
        Platform {
            name: "chatwork",
            // Chatwork's token is base64 of the key; the test's secret is the key.
            adapter: |secret| {
                let token = BASE64.encode(secret);
                Arc::new(ChatworkAdapter::new(&[Secret::new(token)]).expect("a token"))
            },
            sign: |secret, body| {
                chatwork::Signer::new(&BASE64.encode(secret))
                    .expect("base64")
                    .request("/w", body)
            },
            header: botwire::platforms::chatwork::SIGNATURE_HEADER,
            encoding: Encoding::Base64,
            binds_body: true,
        },
        Platform {
            name: "wechatpadpro",
            adapter: |secret| {
                Arc::new(WeChatPadProAdapter::new(&[Secret::new(secret)]).expect("a secret"))
            },
            sign: |secret, body| wechatpadpro::Signer::new(secret).request("/w", body),
            header: botwire::platforms::wechatpadpro::SIGNATURE_HEADER,
            encoding: Encoding::Hex(""),
            binds_body: true,
        },
        Platform {
            name: "line",
            adapter: |secret| Arc::new(LineAdapter::new(&[Secret::new(secret)]).expect("a secret")),
            sign: |secret, body| line::Signer::new(secret).request("/w", body),
            header: botwire::platforms::line::SIGNATURE_HEADER,
            encoding: Encoding::Base64,
            binds_body: true,
        },
        Platform {
            name: "standard_webhooks",
            // A Standard Webhooks secret is base64 of the key; the test's secret is the key.
            adapter: |secret| {
                let secret = Secret::new(BASE64.encode(secret));
                let secret = WebhookSecret::parse(&secret).expect("a secret");
                Arc::new(StandardWebhooksAdapter::new(secret))
            },
            sign: |secret, body| {
                standard_webhooks::Signer::new(&BASE64.encode(secret))
                    .expect("a secret")
                    .request("/w", body)
            },
            header: botwire::platforms::standard_webhooks::SIGNATURE_HEADER,
            encoding: Encoding::PrefixedBase64("v1,"),
            binds_body: true,
        },
        Platform {
            name: "slack",
            adapter: |secret| {
                Arc::new(SlackAdapter::new(&[Secret::new(secret)]).expect("a secret"))
            },
            sign: |secret, body| slack::Signer::new(secret).request("/w", body),
            header: botwire::platforms::slack::SIGNATURE_HEADER,
            encoding: Encoding::Hex("v0="),
            binds_body: true,
        },
        Platform {
            name: "discord",
            adapter: |secret| {
                let public = discord_signer(secret).public_key();
                Arc::new(DiscordAdapter::new(&[public]).expect("a key"))
            },
            sign: |secret, body| discord_signer(secret).request("/w", body),
            header: botwire::platforms::discord::SIGNATURE_HEADER,
            encoding: Encoding::Hex(""),
            binds_body: true,
        },
        Platform {
            name: "telegram",
            // Telegram takes 1-256 of A-Za-z0-9_-; the strategy's secrets are printable ASCII.
            adapter: |secret| {
                Arc::new(TelegramAdapter::new(&[Secret::new(token_of(secret))]).expect("a secret"))
            },
            sign: |secret, body| telegram::Signer::new(&token_of(secret)).request("/w", body),
            header: botwire::platforms::telegram::SECRET_HEADER,
            encoding: Encoding::Token,
            binds_body: false,
        },
    ]
}

/// An Ed25519 key made from `secret` (its SHA-256 is the secret key's 32 bytes).
fn discord_signer(secret: &str) -> discord::Signer {
    use sha2::Digest;
    discord::Signer::new(sha2::Sha256::digest(secret.as_bytes()).into())
}

/// `secret` as a Telegram secret token: its bytes in hex.
fn token_of(secret: &str) -> String {
    hex::encode(secret)
}

fn parts_of(request: Request<Full<Bytes>>) -> Parts {
    request.into_parts().0
}

fn secret() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..512)
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        secret in secret(),
        raw in body(),
        header in prop::collection::vec(any::<u8>(), 0..128),
        timestamp in "[0-9a-z ]{0,20}",
    ) {
        for platform in platforms() {
            let adapter = (platform.adapter)(&secret);
            let mut parts = parts_of(Request::post("/w").body(Full::new(Bytes::new())).expect("a request"));
            if let Ok(value) = HeaderValue::from_bytes(&header) {
                parts.headers.insert(platform.header, value.clone());
                parts.headers.insert("authorization", value);
            }
            if let Ok(value) = HeaderValue::from_str(&timestamp) {
                parts.headers.insert("x-webhook-timestamp", value.clone());
                parts.headers.insert("webhook-timestamp", value.clone());
                parts.headers.insert("webhook-id", value.clone());
                parts.headers.insert("x-slack-request-timestamp", value.clone());
                parts.headers.insert("x-signature-timestamp", value);
            }
            let _ = adapter.verify(&parts, &raw);
            let _ = adapter.parse(Verified::stored(Bytes::from(raw.clone())));
        }
    }

    #[test]
    fn what_the_testkit_signs_verifies(secret in secret(), raw in body()) {
        for platform in platforms() {
            let adapter = (platform.adapter)(&secret);
            let parts = parts_of((platform.sign)(&secret, Bytes::from(raw.clone())));
            prop_assert!(adapter.verify(&parts, &raw).is_ok(), "{}", platform.name);
        }
    }

    #[test]
    fn a_one_byte_change_to_the_body_never_verifies(
        secret in secret(),
        raw in prop::collection::vec(any::<u8>(), 1..512),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut changed = raw.clone();
        let i = at.index(changed.len());
        changed[i] ^= flip;
        for platform in platforms().into_iter().filter(|p| p.binds_body) {
            let adapter = (platform.adapter)(&secret);
            let parts = parts_of((platform.sign)(&secret, Bytes::from(raw.clone())));
            prop_assert!(adapter.verify(&parts, &changed).is_err(), "{}", platform.name);
        }
    }

    #[test]
    fn a_one_byte_change_to_the_signature_never_verifies(
        secret in secret(),
        raw in body(),
        at in any::<prop::sample::Index>(),
        replacement in 0x21u8..0x7f,
    ) {
        for platform in platforms() {
            let adapter = (platform.adapter)(&secret);
            let mut parts = parts_of((platform.sign)(&secret, Bytes::from(raw.clone())));
            let signed = parts.headers[platform.header].as_bytes().to_vec();
            let mut changed = signed.clone();
            let i = at.index(changed.len());
            changed[i] = replacement;
            // A re-spelling of the same tag (upper-case hex) is not a change.
            let tag = platform.encoding.tag(&changed);
            if changed == signed || (tag.is_some() && tag == platform.encoding.tag(&signed)) {
                continue;
            }
            let value = HeaderValue::from_bytes(&changed).expect("printable ASCII");
            parts.headers.insert(platform.header, value);
            prop_assert!(adapter.verify(&parts, &raw).is_err(), "{}", platform.name);
        }
    }
}
