//! Benchmarks of botwire (`cargo bench -p botwire-bench`). The micro-benchmarks are in
//! `benches/micro.rs`; this library holds what they share: signed sample deliveries.

use botwire::platforms::Adapter;
use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::ChatworkAdapter;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire_testkit::{chatwork, funtek, kamigo, wechatpadpro};
use bytes::Bytes;
use http::request::Parts;

/// base64 of "bench-chatwork-key".
const CHATWORK_TOKEN: &str = "YmVuY2gtY2hhdHdvcmsta2V5";

/// One platform's adapter with a signed sample message: what its verify and parse see.
pub struct Signed {
    /// The platform's id.
    pub platform: &'static str,
    /// The adapter, configured with the secret the delivery is signed with.
    pub adapter: Box<dyn Adapter>,
    /// The request head.
    pub parts: Parts,
    /// The raw body.
    pub body: Bytes,
}

/// A signed sample message of every platform.
///
/// # Panics
/// Never: the secrets are fixed and valid.
pub fn signed_samples() -> Vec<Signed> {
    let mut out = Vec::new();
    let funtek_body = funtek::message("hello there").body();
    out.push(Signed {
        platform: "funtek",
        adapter: Box::new(
            FuntekAdapter::builder()
                .token("t")
                .signing_secret("s")
                .build()
                .expect("credentials"),
        ),
        parts: funtek::Signer::token("t")
            .hmac("s")
            .request("/w", funtek_body.clone())
            .into_parts()
            .0,
        body: funtek_body,
    });
    let kamigo_body = kamigo::message("hello there").body();
    out.push(Signed {
        platform: "kamigo",
        adapter: Box::new(KamigoAdapter::new(&[Secret::new("s")]).expect("a secret")),
        parts: kamigo::Signer::new("s")
            .request("/w", kamigo_body.clone())
            .into_parts()
            .0,
        body: kamigo_body,
    });
    let chatwork_body = chatwork::message_created("hello there").body();
    out.push(Signed {
        platform: "chatwork",
        adapter: Box::new(ChatworkAdapter::new(&[Secret::new(CHATWORK_TOKEN)]).expect("a token")),
        parts: chatwork::Signer::new(CHATWORK_TOKEN)
            .expect("base64")
            .request("/w", chatwork_body.clone())
            .into_parts()
            .0,
        body: chatwork_body,
    });
    let wechat_body = wechatpadpro::text("hello there").body();
    out.push(Signed {
        platform: "wechatpadpro",
        adapter: Box::new(WeChatPadProAdapter::new(&[Secret::new("s")]).expect("a secret")),
        parts: wechatpadpro::Signer::new("s")
            .request("/w", wechat_body.clone())
            .into_parts()
            .0,
        body: wechat_body,
    });
    out
}
