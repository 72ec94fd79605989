//! `botwire send --platform P` against the sample bot on every platform, over TCP: the
//! delivery is signed as the platform signs it, accepted, and a repeat with the same id is a
//! duplicate answered alike.

use std::net::SocketAddr;
use std::process::{Command, Output};

use botwire_platforms::auth::Secret;
use botwire_platforms::chatwork::ChatworkAdapter;
use botwire_platforms::discord::DiscordAdapter;
use botwire_platforms::funtek::FuntekAdapter;
use botwire_platforms::kamigo::KamigoAdapter;
use botwire_platforms::line::LineAdapter;
use botwire_platforms::slack::SlackAdapter;
use botwire_platforms::standard_webhooks::{StandardWebhooksAdapter, WebhookSecret};
use botwire_platforms::telegram::TelegramAdapter;
use botwire_platforms::wechatpadpro::WeChatPadProAdapter;
use botwire_server::{Channel, Running, Server};
use botwire_testkit::standard_webhooks::SECRET as STANDARD_SECRET;

const CHATWORK_TOKEN: &str = "Ym90d2lyZS1jbGktY2hhdHdvcms=";

async fn send(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_botwire"))
            .arg("send")
            .args(&args)
            .env_remove("BOTWIRE_SEND_SECRET")
            .output()
            .expect("botwire runs")
    })
    .await
    .expect("the command ends")
}

async fn sample_bot() -> Running {
    let funtek = FuntekAdapter::builder()
        .token("ft")
        .build()
        .expect("a token");
    let kamigo = KamigoAdapter::new(&[Secret::new("ks")]).expect("a secret");
    let chatwork = ChatworkAdapter::new(&[Secret::new(CHATWORK_TOKEN)]).expect("a token");
    let wechat = WeChatPadProAdapter::new(&[Secret::new("ws")]).expect("a secret");
    let line = LineAdapter::new(&[Secret::new("ls")]).expect("a secret");
    let telegram = TelegramAdapter::new(&[Secret::new("ts")]).expect("a secret");
    let slack = SlackAdapter::new(&[Secret::new("ss")]).expect("a secret");
    let discord =
        DiscordAdapter::new(&[botwire_testkit::discord::RFC8032_PUBLIC_KEY]).expect("a key");
    let standard = StandardWebhooksAdapter::new(
        WebhookSecret::parse(&Secret::new(STANDARD_SECRET)).expect("a secret"),
    );
    Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new("funtek", funtek))
        .channel(Channel::new("kamigo", kamigo))
        .channel(Channel::new("chatwork", chatwork))
        .channel(Channel::new("wechatpadpro", wechat))
        .channel(Channel::new("line", line))
        .channel(Channel::new("telegram", telegram))
        .channel(Channel::new("slack", slack))
        .channel(Channel::new("discord", discord))
        .channel(Channel::new("standard_webhooks", standard))
        .bot(echo_bot::bot().expect("the sample bot"))
        .bind()
        .await
        .expect("the server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_speaks_for_every_platform_to_the_sample_bot() {
    let bot = sample_bot().await;
    let base = format!("http://{}", bot.local_addr());
    for (platform, secret, answer) in [
        ("funtek", "ft", r#""message":"hello""#),
        ("kamigo", "ks", r#"{"ok":true}"#),
        ("chatwork", CHATWORK_TOKEN, ""),
        ("wechatpadpro", "ws", r#"{"status":"success"}"#),
        ("line", "ls", "{}"),
        ("telegram", "ts", r#""method":"sendMessage""#),
        ("slack", "ss", ""),
        (
            "discord",
            botwire_testkit::discord::RFC8032_SECRET_KEY,
            r#"{"type":4,"data":{"content":"hello"}}"#,
        ),
        ("standard_webhooks", STANDARD_SECRET, r#"{"ok":true}"#),
    ] {
        let url = format!("{base}/webhooks/{platform}");
        // Telegram's update ids are numbers.
        let id = if platform == "telegram" {
            "424242".to_owned()
        } else {
            format!("cli-{platform}-1")
        };
        let output = send(&[
            "--platform",
            platform,
            "--url",
            &url,
            "--secret",
            secret,
            "--id",
            &id,
            "--repeat",
            "2",
        ])
        .await;
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{platform}: {printed} {:?}",
            output.stderr
        );
        let answers: Vec<&str> = printed.split("HTTP ").filter(|a| !a.is_empty()).collect();
        assert_eq!(answers.len(), 2, "{platform}: {printed}");
        assert!(answers[0].starts_with("200\n"), "{platform}: {printed}");
        assert!(answers[0].contains(answer), "{platform}: {printed}");
        // The repeat is the same delivery: the ledger answers it byte for byte.
        assert_eq!(answers[0], answers[1], "{platform}");
    }

    // A wrong secret is refused by the bot, and the command says so with a failing exit.
    let url = format!("{base}/webhooks/standard_webhooks");
    let other = "whsec_c2Vjb25kIGtleQ==";
    let output = send(&[
        "--platform",
        "standard_webhooks",
        "--url",
        &url,
        "--secret",
        other,
    ])
    .await;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(printed.starts_with("HTTP 401"), "{printed}");
    // A secret that is not one is refused before anything is sent.
    let output = send(&[
        "--platform",
        "standard_webhooks",
        "--url",
        &url,
        "--secret",
        "nope!",
    ])
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("whsec_"));
    bot.shutdown().await;
}
