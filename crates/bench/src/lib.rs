//! Benchmarks of botwire (`cargo bench -p botwire-bench`). The micro-benchmarks are in
//! `benches/micro.rs`; this library holds what they share: signed sample deliveries.

use botwire::platforms::Adapter;
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
use botwire_testkit::{
    chatwork, discord, funtek, kamigo, line, slack, standard_webhooks, telegram, wechatpadpro,
};
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
    let line_body = line::body(&[line::message("hello there")]);
    out.push(Signed {
        platform: "line",
        adapter: Box::new(LineAdapter::new(&[Secret::new("s")]).expect("a secret")),
        parts: line::Signer::new("s")
            .request("/w", line_body.clone())
            .into_parts()
            .0,
        body: line_body,
    });
    let telegram_body = telegram::message("hello there").body();
    out.push(Signed {
        platform: "telegram",
        adapter: Box::new(TelegramAdapter::new(&[Secret::new("s")]).expect("a secret")),
        parts: telegram::Signer::new("s")
            .request("/w", telegram_body.clone())
            .into_parts()
            .0,
        body: telegram_body,
    });
    // Signed now: Slack's and Standard Webhooks' timestamps hold for five minutes, longer
    // than the benchmarks take.
    let slack_body = slack::message("hello there").body();
    out.push(Signed {
        platform: "slack",
        adapter: Box::new(SlackAdapter::new(&[Secret::new("s")]).expect("a secret")),
        parts: slack::Signer::new("s")
            .request("/w", slack_body.clone())
            .into_parts()
            .0,
        body: slack_body,
    });
    let discord_body = discord::say("hello there").body();
    out.push(Signed {
        platform: "discord",
        adapter: Box::new(DiscordAdapter::new(&[discord::RFC8032_PUBLIC_KEY]).expect("a key")),
        parts: discord::Signer::rfc8032()
            .request("/w", discord_body.clone())
            .into_parts()
            .0,
        body: discord_body,
    });
    let standard_body = standard_webhooks::contact_created("1f81eb52").body();
    let secret = WebhookSecret::parse(&Secret::new(standard_webhooks::SECRET)).expect("a secret");
    out.push(Signed {
        platform: "standard_webhooks",
        adapter: Box::new(StandardWebhooksAdapter::new(secret)),
        parts: standard_webhooks::Signer::new(standard_webhooks::SECRET)
            .expect("a secret")
            .request("/w", standard_body.clone())
            .into_parts()
            .0,
        body: standard_body,
    });
    out
}

#[cfg(test)]
mod tests {
    use botwire::platforms::Verified;

    use super::*;

    #[test]
    fn every_sample_verifies_and_parses() {
        let samples = signed_samples();
        assert_eq!(samples.len(), 9, "every platform");
        for sample in samples {
            let verified = Verified::check(&*sample.adapter, &sample.parts, sample.body.clone())
                .unwrap_or_else(|e| panic!("{}: {e:?}", sample.platform));
            assert!(
                sample.adapter.parse(verified).is_ok(),
                "{}",
                sample.platform
            );
        }
    }
}
