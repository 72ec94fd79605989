//! LINE end to end over TCP, against a fake of LINE's Reply and Push APIs: the sample bot
//! mounted from `BOTWIRE_LINE_*`, each event of a body its own delivery, replies through the
//! reply token while it is fresh and the Push API after, in order and once.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use botwire::platforms::auth::Secret;
use botwire::platforms::line::{LineAdapter, LineOutbox};
use botwire::{Bot, Channel, Reply, Running, Workers, handler_fn};
use botwire_e2e::{quick_retries, start_channel};
use botwire_testkit::line::{self, Signer};
use botwire_testkit::line_api::{Api, FakeApi};
use botwire_testkit::{TestResponse, tcp};
use http::StatusCode;
use tokio::sync::Notify;

const SECRET: &str = "line-channel-secret";
const TOKEN: &str = "line-channel-access-token";
const PATH: &str = "/webhooks/line";

async fn send(addr: std::net::SocketAddr, events: &[line::Event]) -> TestResponse {
    let request = Signer::new(SECRET).request(PATH, line::body(events));
    tcp::send(addr, request).await.expect("answered")
}

/// The sample bot, mounted from settings as a user would, replying at `api`.
async fn sample_bot(api: &FakeApi) -> Running {
    botwire_e2e::from_env(&[
        ("BOTWIRE_LINE_SECRET", SECRET),
        ("BOTWIRE_LINE_ACCESS_TOKEN", TOKEN),
        ("BOTWIRE_LINE_API_BASE", &api.base()),
    ])
    .bot(echo_bot::bot().expect("bot"))
    .bind()
    .await
    .expect("binds")
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

#[tokio::test]
async fn the_sample_bot_teaches_echoes_and_welcomes_through_the_reply_api() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();

    let hello = line::message("hello");
    let answer = send(addr, std::slice::from_ref(&hello)).await;
    assert_eq!(
        (answer.status, answer.text()),
        (StatusCode::OK, "{}".to_owned())
    );
    let reply = api.next_message().await;
    assert_eq!((reply.api, reply.text()), (Api::Reply, "hello".to_owned()));
    assert_eq!(reply.reply_token, hello.reply_token());
    assert_eq!(reply.token, TOKEN);

    send(addr, &[line::message("teach")]).await;
    assert_eq!(api.next_message().await.text(), echo_bot::TEACH_PROMPT);
    send(addr, &[line::message("ping => pong")]).await;
    assert_eq!(
        api.next_message().await.text(),
        r#"Got it: "ping" => "pong""#
    );
    send(addr, &[line::message("ping")]).await;
    assert_eq!(api.next_message().await.text(), "pong");

    // A group has its own state and knowledge; members joining are welcomed (LINE sends ids).
    let group = "Ca56f94637cc4347f90a25382909b24b9";
    send(addr, &[line::message("ping").group(group)]).await;
    assert_eq!(api.next_message().await.text(), "ping");
    send(
        addr,
        &[line::member_joined(&["U4af4980629b1a1fd4bb8ee7f8d1f27d"]).group(group)],
    )
    .await;
    assert_eq!(
        api.next_message().await.text(),
        "Welcome, U4af4980629b1a1fd4bb8ee7f8d1f27d!"
    );
    send(addr, &[line::media("sticker")]).await;
    assert!(
        api.next_message()
            .await
            .text()
            .starts_with(echo_bot::NOT_TEXT)
    );
    bot.shutdown().await;
    assert!(api.try_next_send().is_none(), "each reply went out once");
}

#[tokio::test]
async fn five_events_in_one_body_are_five_deliveries_and_a_redelivery_is_a_duplicate() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();

    let events: Vec<line::Event> = (1..=5).map(|i| line::message(&format!("m{i}"))).collect();
    let answer = send(addr, &events).await;
    assert_eq!(answer.status, StatusCode::OK);
    for (i, event) in events.iter().enumerate() {
        let reply = api.next_message().await;
        assert_eq!(reply.text(), format!("m{}", i + 1), "in order");
        assert_eq!(reply.reply_token, event.reply_token());
    }

    // LINE redelivers the third (its own body, marked) and then the whole body: answered from
    // the ledger, nothing handled again: the next reply is the next message's.
    let third = events[2].clone().redelivered();
    assert_eq!(send(addr, &[third]).await.status, StatusCode::OK);
    let again: Vec<line::Event> = events.iter().map(|e| e.clone().redelivered()).collect();
    assert_eq!(send(addr, &again).await.status, StatusCode::OK);
    send(addr, &[line::message("after")]).await;
    assert_eq!(api.next_message().await.text(), "after");

    // The console's Verify button: no events, 200.
    assert_eq!(send(addr, &[]).await.status, StatusCode::OK);
    bot.shutdown().await;
    assert!(api.try_next_send().is_none());
}

#[tokio::test]
async fn an_old_reply_token_is_not_used_and_a_push_is_sent_once() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();

    // Two minutes old: its token has lapsed, so the reply is pushed to the user.
    let old = line::message("late").at_millis(now_millis() - 120_000);
    send(addr, &[old]).await;
    let pushed = api.next_message().await;
    assert_eq!((pushed.api, pushed.text()), (Api::Push, "late".to_owned()));
    assert_eq!(pushed.to, line::USER);
    assert!(!pushed.retry_key.is_empty());

    // A token LINE no longer takes (used already, or expired sooner than the window) falls
    // back to a push as well.
    let first = line::message("first");
    send(addr, std::slice::from_ref(&first)).await;
    assert_eq!(api.next_message().await.api, Api::Reply);
    let spent = line::message("spent").set("/replyToken", first.reply_token());
    send(addr, &[spent]).await;
    let refused = api.next_send().await;
    assert_eq!((refused.api, refused.status), (Api::Reply, 400));
    let pushed = api.next_message().await;
    assert_eq!((pushed.api, pushed.text()), (Api::Push, "spent".to_owned()));
    bot.shutdown().await;
}

#[tokio::test]
async fn a_failed_push_is_retried_with_the_same_retry_key() {
    let mut api = FakeApi::start().await;
    let adapter = LineAdapter::new(&[Secret::new(SECRET)])
        .expect("a secret")
        .with_outbox(LineOutbox::new(&api.base(), Secret::new(TOKEN)).expect("client"));
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(
                |_cx, event| async move { Ok(Reply::text(event.text().unwrap_or_default())) },
            ),
        )
        .build()
        .expect("bot");
    let server = start_channel(Channel::new("line", adapter), bot, quick_retries(5)).await;
    let addr = server.local_addr();

    api.answer(500);
    let old = line::message("retried").at_millis(now_millis() - 120_000);
    send(addr, &[old]).await;
    let failed = api.next_send().await;
    assert_eq!((failed.api, failed.status), (Api::Push, 500));
    let pushed = api.next_message().await;
    assert_eq!(pushed.text(), "retried");
    assert_eq!(
        pushed.retry_key, failed.retry_key,
        "LINE recognises the resend"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_queue_refuses_the_rest_of_a_body_and_the_resend_fills_it_in() {
    let mut api = FakeApi::start().await;
    let gate = Arc::new(Notify::new());
    let held = gate.clone();
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let text = event.text().unwrap_or_default().to_owned();
                let gate = (text == "hold").then(|| held.clone());
                async move {
                    if let Some(gate) = gate {
                        gate.notified().await;
                    }
                    Ok(Reply::text(text))
                }
            }),
        )
        .build()
        .expect("bot");
    let adapter = LineAdapter::new(&[Secret::new(SECRET)])
        .expect("a secret")
        .with_outbox(LineOutbox::new(&api.base(), Secret::new(TOKEN)).expect("client"));
    let workers = Workers::default().with_workers(1).with_capacity(2);
    let server = start_channel(Channel::new("line", adapter), bot, workers).await;
    let addr = server.local_addr();

    // Three users: the first holds the only worker, the second fills the queue, the third
    // does not fit. The answer is 503, so LINE sends the whole body again.
    let events = [
        line::message("hold").from_user("U1"),
        line::message("second").from_user("U2"),
        line::message("third").from_user("U3"),
    ];
    let refused = send(addr, &events).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.json()["error"], "queue_full");
    gate.notify_one();
    let mut texts = vec![
        api.next_message().await.text(),
        api.next_message().await.text(),
    ];
    texts.sort();
    assert_eq!(texts, ["hold", "second"]);

    // The resend: the two accepted are duplicates, the third is accepted now.
    assert_eq!(send(addr, &events).await.status, StatusCode::OK);
    assert_eq!(api.next_message().await.text(), "third");
    server.shutdown().await;
    assert!(api.try_next_send().is_none(), "nothing was sent twice");
}

#[tokio::test]
async fn a_bad_signature_or_event_is_refused_before_anything_is_queued() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();
    let request = Signer::new("another secret").request(PATH, line::body(&[line::message("x")]));
    let refused = tcp::send(addr, request).await.expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_signature");

    // One broken event makes the body 400, naming it; the good one beside it is not queued.
    let broken = line::message("broken").set("/webhookEventId", serde_json::Value::Null);
    let refused = send(addr, &[line::message("good"), broken]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("events[1].webhookEventId")),
        "{}",
        refused.text()
    );
    let stopped = bot.shutdown().await;
    assert!(stopped.unfinished.is_empty());
    assert!(api.try_next_send().is_none(), "nothing was handled");
}
