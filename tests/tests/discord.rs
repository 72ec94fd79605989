//! Discord interactions end to end over TCP, against a fake of its interaction webhooks: the
//! sample bot mounted from `BOTWIRE_DISCORD_*` answers a PING, and slash commands in the
//! response (type 4) when in time; a late handler's answer is deferred (type 5) in time and
//! its reply follows up through the interaction's webhook.

use std::sync::Arc;

use botwire::server::SendError;
use botwire::{Bot, Reply, Running, handler_fn};
use botwire_testkit::discord::{self, RFC8032_PUBLIC_KEY, Signer};
use botwire_testkit::discord_api::FakeApi;
use botwire_testkit::{TestResponse, tcp};
use http::StatusCode;
use serde_json::json;
use tokio::sync::Notify;

const PATH: &str = "/webhooks/discord";

async fn send(addr: std::net::SocketAddr, event: discord::Event) -> TestResponse {
    tcp::send(addr, Signer::rfc8032().request(PATH, event))
        .await
        .expect("answered")
}

async fn start(api: &FakeApi, bot: Bot, deadline: &str) -> Running {
    botwire_e2e::from_env(&[
        ("BOTWIRE_DISCORD_PUBLIC_KEY", RFC8032_PUBLIC_KEY),
        ("BOTWIRE_DISCORD_APPLICATION_ID", discord::APPLICATION_ID),
        ("BOTWIRE_DISCORD_API_BASE", &api.base()),
        ("BOTWIRE_DISCORD_DEADLINE", deadline),
    ])
    .bot(bot)
    .bind()
    .await
    .expect("binds")
}

fn content(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let answer = response.json();
    assert_eq!(answer["type"], 4, "{answer}");
    answer["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_sample_bot_answers_commands_in_the_response() {
    let mut api = FakeApi::start().await;
    let bot = start(&api, echo_bot::bot().expect("bot"), "3s").await;
    let addr = bot.local_addr();

    // Saving the endpoint in the developer portal: a PING, answered PONG.
    assert_eq!(send(addr, discord::ping()).await.json(), json!({"type": 1}));
    // And the bad signature Discord sends on purpose: 401.
    let forged = Signer::new([7; 32]).request(PATH, discord::say("hello"));
    let refused = tcp::send(addr, forged).await.expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_signature");

    assert_eq!(content(&send(addr, discord::say("hello")).await), "hello");
    assert_eq!(
        content(&send(addr, discord::command("teach", None)).await),
        echo_bot::TEACH_PROMPT
    );
    assert_eq!(
        content(&send(addr, discord::say("ping => pong")).await),
        r#"Got it: "ping" => "pong""#
    );
    assert_eq!(content(&send(addr, discord::say("ping")).await), "pong");
    // Another channel has its own state and knowledge.
    let elsewhere = send(addr, discord::say("ping").channel("645027906669510999")).await;
    assert_eq!(content(&elsewhere), "ping");
    // A button the bot has nothing to say to: acknowledged without a change.
    assert_eq!(
        send(addr, discord::button("b1")).await.json(),
        json!({"type": 6})
    );
    // An interaction sent twice (a network retry) gets the same answer, the bot run once.
    let once = discord::say("once");
    let first = send(addr, once.clone()).await;
    assert_eq!(first.body, send(addr, once).await.body);
    bot.shutdown().await;
    assert!(
        api.try_next_send().is_none(),
        "everything went in the answers"
    );
}

#[tokio::test]
async fn a_late_reply_follows_up_after_a_deferred_answer() {
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
                    gate.notified().await;
                    Ok(Reply::text(format!(
                        "slowly: {}",
                        event.text().unwrap_or_default()
                    )))
                }
            }),
        )
        .build()
        .expect("bot");
    let server = start(&api, bot, "300ms").await;
    let addr = server.local_addr();

    let interaction = discord::say("think");
    let deferred = send(addr, interaction.clone()).await;
    assert_eq!(deferred.json(), json!({"type": 5}), "deferred in time");
    gate.notify_one();
    let followed = api.next_message().await;
    assert_eq!(followed.content, "slowly: think");
    assert_eq!(
        (followed.application_id.as_str(), followed.token.as_str()),
        (discord::APPLICATION_ID, interaction.token())
    );

    // Interactions only answer: a message by itself is refused up front, not lost later.
    let refused = server
        .messages()
        .send("discord", discord::CHANNEL, "unprompted")
        .await
        .expect_err("refused");
    assert!(matches!(refused, SendError::CannotSend(_)), "{refused}");
    server.shutdown().await;
    assert!(api.try_next_send().is_none());
}
