//! Slack end to end over TCP, against a fake Web API: the sample bot mounted from
//! `BOTWIRE_SLACK_*` acknowledges at once and replies through `chat.postMessage`; the request
//! URL's verification, Slack's retries, its clock window and its no-retry header.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire::Running;
use botwire_testkit::slack::{self, Signer};
use botwire_testkit::slack_api::FakeApi;
use botwire_testkit::{TestResponse, tcp};
use http::StatusCode;

const SECRET: &str = "slack-signing-secret";
const TOKEN: &str = "xoxb-slack-bot-token";
const PATH: &str = "/webhooks/slack";

async fn send(
    addr: std::net::SocketAddr,
    signer: &Signer,
    body: impl Into<bytes::Bytes>,
) -> TestResponse {
    tcp::send(addr, signer.request(PATH, body))
        .await
        .expect("answered")
}

async fn sample_bot(api: &FakeApi) -> Running {
    botwire_e2e::from_env(&[
        ("BOTWIRE_SLACK_SECRET", SECRET),
        ("BOTWIRE_SLACK_BOT_TOKEN", TOKEN),
        ("BOTWIRE_SLACK_API_BASE", &api.base()),
        // The tests send several replies to one channel in a second.
        ("BOTWIRE_SLACK_CONVERSATION_RATE_LIMIT", "off"),
    ])
    .bot(echo_bot::bot().expect("bot"))
    .bind()
    .await
    .expect("binds")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test]
async fn the_sample_bot_replies_through_chat_post_message() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();
    let signer = Signer::new(SECRET);

    // Registering the request URL.
    let verification = send(
        addr,
        &signer,
        slack::url_verification("3eZbrw1aBm2rZgRNFdxV"),
    )
    .await;
    assert_eq!(verification.status, StatusCode::OK);
    assert_eq!(verification.json()["challenge"], "3eZbrw1aBm2rZgRNFdxV");

    let ack = send(addr, &signer, slack::message("hello")).await;
    assert_eq!((ack.status, ack.body.len()), (StatusCode::OK, 0));
    let reply = api.next_message().await;
    assert_eq!(
        (
            reply.channel.as_str(),
            reply.text.as_str(),
            reply.token.as_str()
        ),
        (slack::CHANNEL, "hello", TOKEN)
    );
    assert_eq!(reply.thread_ts, None);

    send(addr, &signer, slack::app_mention("teach")).await;
    assert_eq!(api.next_message().await.text, echo_bot::TEACH_PROMPT);
    send(addr, &signer, slack::message("ping => pong")).await;
    assert_eq!(api.next_message().await.text, r#"Got it: "ping" => "pong""#);
    send(addr, &signer, slack::message("ping")).await;
    assert_eq!(api.next_message().await.text, "pong");
    send(addr, &signer, slack::member_joined("W123ABC456")).await;
    assert_eq!(api.next_message().await.text, "Welcome, W123ABC456!");

    // The bot's own message comes back as an event: acknowledged, never answered.
    assert_eq!(
        send(addr, &signer, slack::bot_message("pong")).await.status,
        StatusCode::OK
    );
    // A message in a thread is answered in that thread.
    send(
        addr,
        &signer,
        slack::message("ping").in_thread("1355517523.000005"),
    )
    .await;
    let threaded = api.next_message().await;
    assert_eq!(
        (threaded.text.as_str(), threaded.thread_ts.as_deref()),
        ("pong", Some("1355517523.000005"))
    );
    // Another channel has its own state and knowledge.
    send(addr, &signer, slack::message("ping").channel("C-other")).await;
    assert_eq!(api.next_message().await.text, "ping");
    bot.shutdown().await;
    assert!(
        api.try_next_send().is_none(),
        "each reply once, the bot's own message unanswered"
    );
}

#[tokio::test]
async fn a_retry_of_an_accepted_event_gets_the_same_answer_and_no_second_reply() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();

    let event = slack::message("once");
    let first = send(addr, &Signer::new(SECRET), event.clone()).await;
    let retry = send(addr, &Signer::new(SECRET).retry(1), event).await;
    assert_eq!((first.status, &first.body), (retry.status, &retry.body));
    assert_eq!(api.next_message().await.text, "once");
    send(addr, &Signer::new(SECRET), slack::message("after")).await;
    assert_eq!(api.next_message().await.text, "after");
    bot.shutdown().await;
    assert!(api.try_next_send().is_none());
}

#[tokio::test]
async fn timestamps_six_minutes_off_are_refused_and_hopeless_bodies_not_retried() {
    let api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();
    for at in [now() - 360, now() + 360] {
        let refused = send(addr, &Signer::new(SECRET).at(at), slack::message("x")).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.json()["error"], "stale_timestamp");
        // A clock that is off may be fixed: Slack may retry.
        assert!(!refused.headers.contains_key("x-slack-no-retry"));
    }
    let within = send(
        addr,
        &Signer::new(SECRET).at(now() - 240),
        slack::message("x"),
    )
    .await;
    assert_eq!(within.status, StatusCode::OK);

    // Signed, but not an event Slack would send: a retry cannot help.
    let broken = send(addr, &Signer::new(SECRET), r#"{"type":"event_callback"}"#).await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    assert_eq!(broken.headers["x-slack-no-retry"], "1");
    let form = send(addr, &Signer::new(SECRET), "token=x&command=%2Fteach").await;
    assert_eq!(
        (form.status, form.json()["error"].clone()),
        (StatusCode::BAD_REQUEST, serde_json::json!("not_json"))
    );
    assert_eq!(form.headers["x-slack-no-retry"], "1");
    bot.shutdown().await;
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after_and_sent_once() {
    let mut api = FakeApi::start().await;
    let bot = sample_bot(&api).await;
    let addr = bot.local_addr();
    // Slack's limit on one channel, enforced by the fake: the second message in the window
    // is refused with Retry-After: 1.
    api.enforce_channel_limit(1, std::time::Duration::from_millis(500));
    send(addr, &Signer::new(SECRET), slack::message("first")).await;
    assert_eq!(api.next_message().await.text, "first");
    send(addr, &Signer::new(SECRET), slack::message("second")).await;
    let refused = api.next_send().await;
    assert_eq!(
        (refused.text.as_str(), refused.status, refused.ok),
        ("second", 429, false)
    );
    assert_eq!(api.next_message().await.text, "second");
    assert_eq!(api.limited(), 1);
    bot.shutdown().await;
    assert!(api.try_next_send().is_none(), "sent once after the wait");
}
