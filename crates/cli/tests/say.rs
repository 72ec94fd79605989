//! `botwire say` against a running bot: the message is accepted over the admin listener and
//! reaches the platform's send API; a refusal is printed with its status and a failing exit.

use std::net::SocketAddr;
use std::process::{Command, Output};

use botwire_platforms::auth::Secret;
use botwire_platforms::wechatpadpro::{WeChatPadProAdapter, WeChatPadProOutbox};
use botwire_server::{Channel, Server};
use botwire_testkit::wechatpadpro_api::FakeApi;

async fn say(admin: SocketAddr, channel: &str, conversation: &str, text: &str) -> Output {
    let args: Vec<String> = [
        "say",
        "--admin",
        &admin.to_string(),
        "--channel",
        channel,
        "--conversation",
        conversation,
        "--text",
        text,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_botwire"))
            .args(&args)
            .env_remove("BOTWIRE_ADMIN_LISTEN")
            .output()
            .expect("botwire runs")
    })
    .await
    .expect("the command ends")
}

#[tokio::test]
async fn say_sends_through_the_running_bot() {
    let mut gateway = FakeApi::start().await;
    let outbox = WeChatPadProOutbox::new(&gateway.base(), Secret::new("key")).expect("client");
    let adapter = WeChatPadProAdapter::new(&[Secret::new("s")])
        .expect("a secret")
        .with_outbox(outbox);
    let bot = botwire_core::Bot::builder()
        .initial("idle")
        .state(
            "idle",
            botwire_core::handler_fn(|_cx, _ev| async { Ok(botwire_core::Reply::none()) }),
        )
        .build()
        .expect("bot");
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new("wechatpadpro", adapter))
        .bot(bot)
        .bind()
        .await
        .expect("the server starts");
    let admin = server.admin_addr().expect("admin");

    let output = say(admin, "wechatpadpro", "4242@chatroom", "The build is green").await;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{printed}");
    assert!(printed.starts_with("HTTP 202\n{\"id\":\"msg_"), "{printed}");
    let sent = gateway.next_message().await;
    assert_eq!(
        (sent.to.as_str(), sent.text.as_str()),
        ("4242@chatroom", "The build is green")
    );

    let output = say(admin, "nope", "r", "x").await;
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(printed.starts_with("HTTP 404"), "{printed}");

    // Nothing listens there: a clear error, exit 2.
    server.shutdown().await;
    let output = say(admin, "wechatpadpro", "r", "x").await;
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("cannot reach the admin listener"), "{error}");
}
