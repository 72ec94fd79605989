//! Telegram end to end over TCP, against a fake Bot API: the sample bot mounted from
//! `BOTWIRE_TELEGRAM_*` answers in the webhook's response as a `sendMessage` call when it is in
//! time; a late reply and a proactive message go through the Bot API, waiting out its 429s.

use std::sync::Arc;
use std::time::Duration;

use botwire::{Bot, Reply, Running, handler_fn};
use botwire_testkit::telegram::{self, Signer};
use botwire_testkit::telegram_api::FakeApi;
use botwire_testkit::{TestResponse, tcp};
use http::StatusCode;
use serde_json::json;
use tokio::sync::Notify;

const SECRET: &str = "telegram-webhook-secret_1";
const TOKEN: &str = "123456:telegram-bot-token";
const PATH: &str = "/webhooks/telegram";

async fn send(addr: std::net::SocketAddr, event: telegram::Event) -> TestResponse {
    let request = Signer::new(SECRET).request(PATH, event);
    tcp::send(addr, request).await.expect("answered")
}

/// A server mounted from settings as a user would, with `bot`, sending through `api`.
async fn start(api: &FakeApi, bot: Bot, deadline: &str) -> Running {
    botwire_e2e::from_env(&[
        ("BOTWIRE_TELEGRAM_SECRET", SECRET),
        ("BOTWIRE_TELEGRAM_BOT_TOKEN", TOKEN),
        ("BOTWIRE_TELEGRAM_API_BASE", &api.base()),
        ("BOTWIRE_TELEGRAM_DEADLINE", deadline),
    ])
    .bot(bot)
    .bind()
    .await
    .expect("binds")
}

fn answer_text(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let call = response.json();
    assert_eq!(call["method"], "sendMessage", "{call}");
    call["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_sample_bot_answers_in_the_webhooks_response() {
    let mut api = FakeApi::start().await;
    let bot = start(&api, echo_bot::bot().expect("bot"), "5s").await;
    let addr = bot.local_addr();

    let hello = send(addr, telegram::message("hello")).await;
    assert_eq!(
        hello.json(),
        json!({"method": "sendMessage", "chat_id": telegram::CHAT, "text": "hello"})
    );
    assert_eq!(
        answer_text(&send(addr, telegram::message("teach")).await),
        echo_bot::TEACH_PROMPT
    );
    assert_eq!(
        answer_text(&send(addr, telegram::message("ping => pong")).await),
        r#"Got it: "ping" => "pong""#
    );
    assert_eq!(
        answer_text(&send(addr, telegram::message("ping")).await),
        "pong"
    );

    // A group: its own state and knowledge, and a welcome for the people who join.
    let group = -1_001_234_567_890;
    let in_group = send(addr, telegram::message("ping").chat(group)).await;
    assert_eq!(
        (in_group.json()["chat_id"].as_i64(), answer_text(&in_group)),
        (Some(group), "ping".to_owned())
    );
    let joined = send(addr, telegram::new_members(&["Ann", "Bo"]).chat(group)).await;
    assert_eq!(answer_text(&joined), "Welcome, Ann, Bo!");
    let photo = send(addr, telegram::photo("look")).await;
    assert!(answer_text(&photo).starts_with(echo_bot::NOT_TEXT));

    // Telegram resends an update it got no 2xx for: the same bytes, the bot not run again.
    let update = telegram::message("once");
    let first = send(addr, update.clone()).await;
    let again = send(addr, update).await;
    assert_eq!(first.body, again.body);
    assert_eq!(
        answer_text(&send(addr, telegram::message("ping")).await),
        "pong"
    );
    // Nothing said to a button press: the answer stops its spinner.
    let pressed = send(addr, telegram::callback_query("b1")).await;
    assert_eq!(pressed.json()["method"], "answerCallbackQuery");
    bot.shutdown().await;
    assert!(
        api.try_next_send().is_none(),
        "everything went in the answers"
    );
}

#[tokio::test]
async fn a_late_reply_goes_through_the_bot_api_after_an_empty_answer() {
    let mut api = FakeApi::start().await;
    let gate = Arc::new(Notify::new());
    let held = gate.clone();
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let gate = held.clone();
                async move {
                    let text = event.text().unwrap_or_default().to_owned();
                    if text == "slow" {
                        gate.notified().await;
                    }
                    Ok(Reply::text(format!("re: {text}")))
                }
            }),
        )
        .build()
        .expect("bot");
    let server = start(&api, bot, "300ms").await;
    let addr = server.local_addr();

    let late = send(addr, telegram::message("slow")).await;
    assert_eq!(late.status, StatusCode::OK);
    assert!(
        late.body.is_empty(),
        "the no-op: Telegram reads nothing from it"
    );
    gate.notify_one();
    let sent = api.next_message().await;
    assert_eq!(
        (sent.chat_id.as_str(), sent.text.as_str()),
        ("1111111", "re: slow")
    );
    assert_eq!(sent.token, TOKEN);
    server.shutdown().await;
}

#[tokio::test]
async fn proactive_messages_wait_out_telegrams_429() {
    let mut api = FakeApi::start().await;
    let server = start(&api, echo_bot::bot().expect("bot"), "5s").await;
    api.enforce_chat_limit(1, Duration::from_millis(500));
    let messages = server.messages();
    messages
        .send("telegram", "42", "first")
        .await
        .expect("queued");
    messages
        .send("telegram", "42", "second")
        .await
        .expect("queued");
    assert_eq!(api.next_message().await.text, "first");
    let refused = api.next_send().await;
    assert_eq!((refused.text.as_str(), refused.status), ("second", 429));
    // Sent again after the retry_after Telegram named, once, as a wait rather than a failure.
    assert_eq!(api.next_message().await.text, "second");
    server.shutdown().await;
    assert!(api.try_next_send().is_none());
}

#[tokio::test]
async fn a_wrong_or_missing_secret_token_is_401() {
    let api = FakeApi::start().await;
    let server = start(&api, echo_bot::bot().expect("bot"), "5s").await;
    let addr = server.local_addr();
    let wrong = Signer::new("another-secret").request(PATH, telegram::message("x"));
    let refused = tcp::send(addr, wrong).await.expect("answered");
    assert_eq!(
        (refused.status, refused.json()["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_token"))
    );
    let unsigned = http::Request::post(PATH)
        .body(http_body_util::Full::new(telegram::message("x").body()))
        .expect("a request");
    let refused = tcp::send(addr, unsigned).await.expect("answered");
    assert_eq!(refused.json()["error"], "missing_token");
    server.shutdown().await;
}
