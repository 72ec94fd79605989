//! Secrets never leak: a whole session on every platform, over HTTP/1 and HTTP/2, good and
//! bad deliveries, with every log line at trace level captured. No secret, token or signature
//! may appear in the logs, the delivery log, or any response; `Debug` of every configuration
//! type prints none.
//!
//! One test in its own binary: it installs the process-wide log subscriber.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::{ChatworkAdapter, ChatworkOutbox};
use botwire::platforms::discord::{DiscordAdapter, DiscordOutbox};
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::line::{LineAdapter, LineOutbox};
use botwire::platforms::slack::{SlackAdapter, SlackOutbox};
use botwire::platforms::standard_webhooks::{StandardWebhooksAdapter, WebhookSecret};
use botwire::platforms::telegram::{TelegramAdapter, TelegramOutbox};
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire::{Channel, Server, Settings};
use botwire_testkit::chatwork_api::FakeApi;
use botwire_testkit::{
    TestResponse, chatwork, discord, funtek, kamigo, line, slack, standard_webhooks, tcp, telegram,
    wechatpadpro,
};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;

const FUNTEK_TOKEN: &str = "funtek-token-3f9a1c";
const FUNTEK_SIGNING: &str = "funtek-signing-77e0b2";
const KAMIGO_SECRET: &str = "kamigo-secret-51d8aa";
const CHATWORK_TOKEN: &str = "Y2hhdHdvcmstd2ViaG9vay10b2tlbi05YzRl";
const CHATWORK_API_TOKEN: &str = "chatwork-api-token-c0ffee";
const WECHAT_SECRET: &str = "wechat-secret-0b7d41";
const SLACK_SECRET: &str = "slack-signing-secret-61b0d3";
const SLACK_TOKEN: &str = "xoxb-slack-bot-token-a7c2";
const TELEGRAM_SECRET: &str = "telegram-secret-token-4d2a9c";
const TELEGRAM_TOKEN: &str = "987654:telegram-bot-token-e81f";
const LINE_SECRET: &str = "line-channel-secret-7ac3e1";
const LINE_TOKEN: &str = "line-access-token-5b90f2";
/// `whsec_` + base64 of `standard-webhooks-key-9e1d44`.
const STANDARD_SECRET: &str = "whsec_c3RhbmRhcmQtd2ViaG9va3Mta2V5LTllMWQ0NA==";

/// Everything the log subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends `request` over HTTP/1 and, as a fresh delivery, HTTP/2; returns both answers.
async fn both(addr: SocketAddr, request: impl Fn() -> Request<Full<Bytes>>) -> [TestResponse; 2] {
    [
        tcp::send(addr, request()).await.expect("answered"),
        tcp::send_h2(addr, request()).await.expect("answered"),
    ]
}

/// Every header value and query string of `request`: signatures and tokens as sent.
fn credentials_of(request: &Request<Full<Bytes>>) -> Vec<String> {
    let mut sent: Vec<String> = request
        .headers()
        .iter()
        // A Standard Webhooks message id is the delivery id, shown on purpose.
        .filter(|(name, _)| *name != "webhook-id")
        .filter(|(name, _)| *name != http::header::CONTENT_TYPE)
        .map(|(_, value)| value.to_str().expect("ascii").to_owned())
        .collect();
    sent.extend(request.uri().query().map(str::to_owned));
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_logs_responses_or_debug_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let mut api = FakeApi::start().await;
    let outbox = ChatworkOutbox::new(&api.base(), Secret::new(CHATWORK_API_TOKEN)).expect("client");
    let funtek = FuntekAdapter::builder()
        .token(FUNTEK_TOKEN)
        .signing_secret(FUNTEK_SIGNING)
        .build()
        .expect("credentials");
    let kamigo = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)]).expect("a secret");
    let chatwork = ChatworkAdapter::new(&[Secret::new(CHATWORK_TOKEN)])
        .expect("a token")
        .with_outbox(outbox);
    let wechat = WeChatPadProAdapter::new(&[Secret::new(WECHAT_SECRET)]).expect("a secret");
    let mut line_api = botwire_testkit::line_api::FakeApi::start().await;
    let line_adapter = LineAdapter::new(&[Secret::new(LINE_SECRET)])
        .expect("a secret")
        .with_outbox(LineOutbox::new(&line_api.base(), Secret::new(LINE_TOKEN)).expect("client"));
    let mut telegram_api = botwire_testkit::telegram_api::FakeApi::start().await;
    let telegram_adapter = TelegramAdapter::new(&[Secret::new(TELEGRAM_SECRET)])
        .expect("a secret")
        .with_outbox(
            TelegramOutbox::new(&telegram_api.base(), Secret::new(TELEGRAM_TOKEN)).expect("client"),
        );
    let mut slack_api = botwire_testkit::slack_api::FakeApi::start().await;
    let slack_adapter = SlackAdapter::new(&[Secret::new(SLACK_SECRET)])
        .expect("a secret")
        .with_outbox(
            SlackOutbox::new(&slack_api.base(), Secret::new(SLACK_TOKEN)).expect("client"),
        );
    let discord_api = botwire_testkit::discord_api::FakeApi::start().await;
    let discord_adapter = DiscordAdapter::new(&[discord::RFC8032_PUBLIC_KEY])
        .expect("a key")
        .with_outbox(
            DiscordOutbox::new(&discord_api.base(), discord::APPLICATION_ID).expect("client"),
        );
    let standard = StandardWebhooksAdapter::new(
        WebhookSecret::parse(&Secret::new(STANDARD_SECRET)).expect("a secret"),
    );
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new("funtek", funtek))
        .channel(Channel::new("kamigo", kamigo))
        .channel(Channel::new("chatwork", chatwork))
        .channel(Channel::new("wechatpadpro", wechat))
        .channel(Channel::new("standard_webhooks", standard))
        .channel(Channel::new("line", line_adapter))
        .channel(Channel::new("telegram", telegram_adapter))
        .channel(Channel::new("slack", slack_adapter))
        .channel(Channel::new("discord", discord_adapter))
        .bot(echo_bot::bot().expect("bot"));
    let debug_of_server = format!("{server:?}");
    let running = server.bind().await.expect("starts");
    let addr = running.local_addr();

    let funtek_signer = || funtek::Signer::token(FUNTEK_TOKEN).hmac(FUNTEK_SIGNING);
    let kamigo_signer = || kamigo::Signer::new(KAMIGO_SECRET);
    let chatwork_signer = || chatwork::Signer::new(CHATWORK_TOKEN).expect("base64");
    let wechat_signer = || wechatpadpro::Signer::new(WECHAT_SECRET);
    let standard_signer = || standard_webhooks::Signer::new(STANDARD_SECRET).expect("a secret");
    let standard_path = "/webhooks/standard_webhooks";
    let line_signer = || line::Signer::new(LINE_SECRET);
    let telegram_signer = || telegram::Signer::new(TELEGRAM_SECRET);
    let slack_signer = || slack::Signer::new(SLACK_SECRET);
    let mut sent_credentials = Vec::new();
    let mut responses = Vec::new();
    let mut send = |request: Request<Full<Bytes>>| {
        sent_credentials.extend(credentials_of(&request));
        request
    };

    // Good deliveries on every platform, over both protocols.
    let good: Vec<Box<dyn Fn() -> Request<Full<Bytes>>>> = vec![
        Box::new(|| funtek_signer().request("/webhooks/funtek", funtek::message("hi"))),
        Box::new(|| {
            funtek_signer()
                .bearer()
                .request("/webhooks/funtek", funtek::message("teach"))
        }),
        Box::new(|| kamigo_signer().request("/webhooks/kamigo", kamigo::message("hi"))),
        Box::new(|| {
            chatwork_signer().request("/webhooks/chatwork", chatwork::message_created("hi"))
        }),
        Box::new(|| {
            chatwork_signer()
                .in_query()
                .request("/webhooks/chatwork", chatwork::message_created("query"))
        }),
        Box::new(|| wechat_signer().request("/webhooks/wechatpadpro", wechatpadpro::text("hi"))),
        Box::new(|| {
            standard_signer().request(standard_path, standard_webhooks::contact_created("c"))
        }),
        Box::new(|| line_signer().request("/webhooks/line", line::body(&[line::message("hi")]))),
        Box::new(|| telegram_signer().request("/webhooks/telegram", telegram::message("hi"))),
        Box::new(|| slack_signer().request("/webhooks/slack", slack::message("hi"))),
        Box::new(|| slack_signer().request("/webhooks/slack", slack::url_verification("c"))),
        Box::new(|| discord::Signer::rfc8032().request("/webhooks/discord", discord::say("hi"))),
        Box::new(|| discord::Signer::rfc8032().request("/webhooks/discord", discord::ping())),
    ];
    for make in &good {
        let request = make();
        send(request);
        responses.extend(both(addr, make).await);
    }
    // Bad ones: signatures over another body, a stale timestamp, a malformed verified body.
    let bad: Vec<Box<dyn Fn() -> Request<Full<Bytes>>>> = vec![
        Box::new(|| {
            let mut request = funtek_signer().request("/webhooks/funtek", funtek::message("a"));
            *request.body_mut() = Full::new(funtek::message("b").body());
            request
        }),
        Box::new(|| kamigo_signer().request("/webhooks/kamigo", "{not json")),
        Box::new(|| {
            let mut request =
                chatwork_signer().request("/webhooks/chatwork", chatwork::message_created("a"));
            *request.body_mut() = Full::new(chatwork::message_created("b").body());
            request
        }),
        Box::new(|| {
            wechat_signer()
                .at(1)
                .request("/webhooks/wechatpadpro", wechatpadpro::text("old"))
        }),
        Box::new(|| {
            standard_signer()
                .at(1)
                .request(standard_path, standard_webhooks::contact_created("old"))
        }),
        Box::new(|| standard_signer().request(standard_path, "[not an event]")),
        Box::new(|| {
            let mut request =
                line_signer().request("/webhooks/line", line::body(&[line::message("a")]));
            *request.body_mut() = Full::new(line::body(&[line::message("b")]));
            request
        }),
        Box::new(|| {
            telegram::Signer::new("wrong-token")
                .request("/webhooks/telegram", telegram::message("x"))
        }),
        Box::new(|| telegram_signer().request("/webhooks/telegram", "{not json")),
        Box::new(|| {
            slack_signer()
                .at(1)
                .request("/webhooks/slack", slack::message("old"))
        }),
        Box::new(|| slack_signer().request("/webhooks/slack", "token=x&command=%2Fx")),
        Box::new(|| {
            discord::Signer::new([9; 32]).request("/webhooks/discord", discord::say("forged"))
        }),
    ];
    for make in &bad {
        send(make());
        responses.extend(both(addr, make).await);
    }
    // The Chatwork and LINE replies went out with their tokens.
    api.next_message().await;
    assert_eq!(line_api.next_message().await.token, LINE_TOKEN);
    // A proactive Telegram message goes through the Bot API, its token in the URL's path.
    running
        .messages()
        .send("telegram", "1111111", "through the API")
        .await
        .expect("queued");
    assert_eq!(telegram_api.next_message().await.token, TELEGRAM_TOKEN);
    assert_eq!(slack_api.next_message().await.token, SLACK_TOKEN);

    let admin = running.admin_addr().expect("admin");
    responses.push(
        tcp::get(admin, "/deliveries?limit=1000")
            .await
            .expect("answered"),
    );
    responses.push(tcp::get(admin, "/dead-letters").await.expect("answered"));
    running.shutdown().await;

    let settings = Settings::from_sources(
        None,
        [
            ("BOTWIRE_FUNTEK_TOKEN", FUNTEK_TOKEN),
            ("BOTWIRE_FUNTEK_SECRET", FUNTEK_SIGNING),
            ("BOTWIRE_KAMIGO_SECRET", KAMIGO_SECRET),
            ("BOTWIRE_CHATWORK_TOKEN", CHATWORK_TOKEN),
            ("BOTWIRE_CHATWORK_API_TOKEN", CHATWORK_API_TOKEN),
            ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
            ("BOTWIRE_STANDARD_WEBHOOKS_SECRET", STANDARD_SECRET),
            ("BOTWIRE_LINE_SECRET", LINE_SECRET),
            ("BOTWIRE_TELEGRAM_SECRET", TELEGRAM_SECRET),
            ("BOTWIRE_SLACK_SECRET", SLACK_SECRET),
            ("BOTWIRE_SLACK_BOT_TOKEN", SLACK_TOKEN),
            ("BOTWIRE_TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN),
            ("BOTWIRE_LINE_ACCESS_TOKEN", LINE_TOKEN),
            ("BOTWIRE_STORE", "memory"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .expect("valid settings");
    let debug_of_settings = format!("{settings:?}");
    let from_settings = Server::from_settings(settings).expect("mounts");
    let debug_of_mounted = format!("{from_settings:?} {:?}", from_settings.channels());

    let logs = String::from_utf8_lossy(&captured.0.lock().expect("lock")).into_owned();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "trace logs were captured"
    );
    let mut secrets: Vec<String> = [
        FUNTEK_TOKEN,
        FUNTEK_SIGNING,
        KAMIGO_SECRET,
        CHATWORK_TOKEN,
        CHATWORK_API_TOKEN,
        WECHAT_SECRET,
        STANDARD_SECRET,
        &STANDARD_SECRET["whsec_".len()..],
        LINE_SECRET,
        LINE_TOKEN,
        TELEGRAM_SECRET,
        TELEGRAM_TOKEN,
        SLACK_SECRET,
        SLACK_TOKEN,
    ]
    .map(str::to_owned)
    .to_vec();
    // Signatures as sent (header values and query strings), each long enough to be specific.
    secrets.extend(sent_credentials.into_iter().filter(|c| c.len() >= 16));
    let places = [
        ("the logs", logs),
        ("Debug of the server", debug_of_server),
        ("Debug of the settings", debug_of_settings),
        ("Debug of the mounted channels", debug_of_mounted),
        (
            "the responses",
            responses
                .iter()
                .map(TestResponse::text)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for (place, text) in &places {
        for secret in &secrets {
            // A signature's hex or base64 tail, without its `sha256=` or `Bearer ` prefix too.
            let tail = secret
                .rsplit(['=', ' '])
                .find(|t| t.len() >= 16)
                .unwrap_or(secret);
            assert!(
                !text.contains(secret.as_str()) && !text.contains(tail),
                "{place} show a secret ({} chars)",
                secret.len()
            );
        }
    }
}
