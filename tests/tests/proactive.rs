//! What a bot sends outside the response to a delivery: a FUNTEK handler's reply that missed
//! the deadline (through IMKit's API), and proactive messages from Rust, from a handler and
//! over the admin listener, each in its conversation's order with its replies, once.

use std::net::SocketAddr;
use std::sync::Arc;

use botwire::{Bot, Reply, Running, Server, Settings, handler_fn};
use botwire_testkit::imkit_api::FakeApi as FakeImkit;
use botwire_testkit::wechatpadpro_api::FakeApi as FakeGateway;
use botwire_testkit::{TestResponse, funtek, tcp, wechatpadpro};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use serde_json::Value;
use tokio::sync::Notify;

const TOKEN: &str = "funtek-token";
const FUNTEK: &str = "/webhooks/funtek";
const WECHAT_SECRET: &str = "wechat-secret";
const WECHAT: &str = "/webhooks/wechatpadpro";
const NO_OP: &str = r#"{"toBotState":null,"data":null}"#;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn start(vars: &[(&str, &str)], bot: Bot) -> Running {
    let mut all = env(&[
        ("BOTWIRE_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_STORE", "memory"),
        ("BOTWIRE_QUEUE_RETRY_BASE", "1ms"),
        ("BOTWIRE_QUEUE_RETRY_MAX", "1ms"),
    ]);
    all.extend(env(vars));
    let settings = Settings::from_sources(None, all).expect("valid settings");
    Server::from_settings(settings)
        .expect("channels configure")
        .bot(bot)
        .bind()
        .await
        .expect("the server starts")
}

/// A bot whose "slow" waits for `gate` and then answers "finally", moving to `teaching`;
/// "remind" answers "noted" and sends "reminder" by itself; anything else is echoed.
fn bot(gate: Arc<Notify>) -> Bot {
    let idle = handler_fn(move |cx, event| {
        let gate = gate.clone();
        async move {
            match event.text().unwrap_or_default() {
                "slow" => {
                    gate.notified().await;
                    Ok(Reply::text("finally").goto("teaching"))
                }
                "remind" => {
                    cx.send("reminder").await?;
                    Ok(Reply::text("noted"))
                }
                text => Ok(Reply::text(text)),
            }
        }
    });
    Bot::builder()
        .initial("idle")
        .state("idle", idle)
        .state(
            "teaching",
            handler_fn(|_cx, _ev| async { Ok(Reply::none()) }),
        )
        .build()
        .expect("bot")
}

async fn post_funtek(addr: SocketAddr, event: funtek::Event) -> TestResponse {
    let request = funtek::Signer::token(TOKEN).request(FUNTEK, event.body());
    tcp::send(addr, request).await.expect("answered")
}

async fn say(admin: SocketAddr, path: &str, body: &str) -> TestResponse {
    let request = http::Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    tcp::send(admin, request).await.expect("answered")
}

/// The delivery log's records of `delivery_id`, oldest first, as (outcome, detail).
async fn outcomes(admin: SocketAddr, delivery_id: &str) -> Vec<(String, String)> {
    let log = tcp::get(admin, "/deliveries?limit=100")
        .await
        .expect("answered");
    let mut records: Vec<(String, String)> = log.json()["deliveries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r["delivery_id"] == delivery_id)
        .map(|r| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (text(&r["outcome"]), text(&r["detail"]))
        })
        .collect();
    records.reverse();
    records
}

#[tokio::test]
async fn a_late_funtek_reply_goes_out_once_through_imkit_with_its_key() {
    let mut imkit = FakeImkit::start().await;
    let gate = Arc::new(Notify::new());
    let base = imkit.base();
    let server = start(
        &[
            ("BOTWIRE_FUNTEK_TOKEN", TOKEN),
            ("BOTWIRE_FUNTEK_DEADLINE", "300ms"),
            ("BOTWIRE_FUNTEK_API_BASE", &base),
            ("BOTWIRE_FUNTEK_API_KEY", "im-api-key-1"),
            ("BOTWIRE_FUNTEK_SENDER_ID", "robot001"),
        ],
        bot(gate.clone()),
    )
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));

    // The handler is held: the no-op is the answer, in time.
    let answer = post_funtek(addr, funtek::message("slow").id("m-slow")).await;
    assert_eq!(
        (answer.status, answer.text()),
        (StatusCode::OK, NO_OP.to_owned())
    );

    gate.notify_one();
    let late = imkit.next_message().await;
    assert_eq!(
        (
            late.room.as_str(),
            late.message.as_str(),
            late.message_type.as_str()
        ),
        ("demo-room", "finally", "text")
    );
    assert_eq!(late.key, "im-api-key-1");
    assert_eq!(late.sender.as_deref(), Some("robot001"));
    // No client id unless asked for: IMKit documents `_id` only for updating a message.
    assert_eq!(late.id, None);

    // A proactive message to the same room comes after it, in the room's lane: once it is
    // here, the late reply's job is finished and logged.
    let queued = say(
        admin,
        "/conversations/funtek/demo-room/messages",
        r#"{"text":"after"}"#,
    )
    .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text());
    assert_eq!(imkit.next_message().await.message, "after");
    assert!(imkit.try_next_send().is_none(), "each sent once");

    let log = outcomes(admin, "m-slow").await;
    let names: Vec<&str> = log.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(names, ["late", "queued", "failed", "replied"], "{log:?}");
    // The state change is what could not be delivered: IMKit has no API that sets it.
    assert!(log[2].1.contains("\"teaching\" is lost"), "{log:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_send_api_a_late_reply_is_logged_and_counted_as_lost() {
    let gate = Arc::new(Notify::new());
    let server = start(
        &[
            ("BOTWIRE_FUNTEK_TOKEN", TOKEN),
            ("BOTWIRE_FUNTEK_DEADLINE", "300ms"),
        ],
        bot(gate.clone()),
    )
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));
    let event = funtek::message("slow").id("m-lost");
    let answer = post_funtek(addr, event.clone()).await;
    assert_eq!(answer.text(), NO_OP);

    gate.notify_one();
    // The resend waits for the original and gets its reply: by then, the loss is recorded.
    let resent = post_funtek(addr, event).await;
    assert_eq!(resent.json()["data"]["message"], "finally");
    let log = outcomes(admin, "m-lost").await;
    let lost = log
        .iter()
        .find(|(outcome, _)| outcome == "failed")
        .expect("a failure record");
    assert!(lost.1.contains("the late reply is lost"), "{log:?}");
    let totals = tcp::get(admin, "/deliveries").await.expect("answered");
    assert_eq!(totals.json()["totals"]["failed"], 1);

    // Nothing can send here: a proactive message is refused, not logged and forgotten.
    let refused = say(
        admin,
        "/conversations/funtek/demo-room/messages",
        r#"{"text":"x"}"#,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.json()["error"], "cannot_send");
    server.shutdown().await;
}

#[tokio::test]
async fn proactive_messages_arrive_once_in_order_with_the_conversations_replies() {
    let mut gateway = FakeGateway::start().await;
    let base = gateway.base();
    let server = start(
        &[
            ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
            ("BOTWIRE_WECHATPADPRO_API_BASE", &base),
            ("BOTWIRE_WECHATPADPRO_API_KEY", "account-key"),
            ("BOTWIRE_KAMIGO_SECRET", "kamigo-secret"),
        ],
        bot(Arc::new(Notify::new())),
    )
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));
    let messages = server.messages();
    let user = "wxid_sender12345";
    let signer = wechatpadpro::Signer::new(WECHAT_SECRET);
    let deliver = |text: &str| tcp::send(addr, signer.request(WECHAT, wechatpadpro::text(text)));

    deliver("one").await.expect("answered");
    let id = messages
        .send("wechatpadpro", user, "from rust")
        .await
        .expect("accepted");
    assert!(id.starts_with("msg_"), "{id}");
    deliver("two").await.expect("answered");
    let over_http = say(
        admin,
        &format!("/conversations/wechatpadpro/{user}/messages"),
        r#"{"text":"from http"}"#,
    )
    .await;
    assert_eq!(
        over_http.status,
        StatusCode::ACCEPTED,
        "{}",
        over_http.text()
    );
    assert!(
        over_http.json()["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("msg_"))
    );
    // A handler's own message goes after its reply.
    deliver("remind").await.expect("answered");
    // A group's id has an @; it goes in the path as it is.
    let group = say(
        admin,
        "/conversations/wechatpadpro/4242@chatroom/messages",
        r#"{"text":"to the group"}"#,
    )
    .await;
    assert_eq!(group.status, StatusCode::ACCEPTED);

    let mut to_user = Vec::new();
    let mut to_group = Vec::new();
    for _ in 0..7 {
        let sent = gateway.next_message().await;
        if sent.to == user {
            to_user.push(sent.text);
        } else {
            to_group.push((sent.to, sent.text));
        }
    }
    assert_eq!(
        to_user,
        ["one", "from rust", "two", "from http", "noted", "reminder"]
    );
    assert_eq!(
        to_group,
        [("4242@chatroom".to_owned(), "to the group".to_owned())]
    );
    assert!(gateway.try_next_send().is_none(), "each sent once");

    // Refusals, each with its status and nothing queued.
    let path = |channel: &str| format!("/conversations/{channel}/{user}/messages");
    for (channel, body, status, code) in [
        (
            "nope",
            r#"{"text":"x"}"#,
            StatusCode::NOT_FOUND,
            "unknown_channel",
        ),
        // Kamigo has no send API and no outbox here: only the log would see it.
        (
            "kamigo",
            r#"{"text":"x"}"#,
            StatusCode::CONFLICT,
            "cannot_send",
        ),
        (
            "wechatpadpro",
            "not json",
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            "wechatpadpro",
            r#"{"txt":"x"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
        (
            "wechatpadpro",
            r#"{"text":""}"#,
            StatusCode::BAD_REQUEST,
            "invalid_message",
        ),
    ] {
        let refused = say(admin, &path(channel), body).await;
        assert_eq!(
            refused.status,
            status,
            "{channel} {body}: {}",
            refused.text()
        );
        assert_eq!(refused.json()["error"], code);
    }
    let too_large = format!(r#"{{"text":"{}"}}"#, "x".repeat(70 * 1024));
    let refused = say(admin, &path("wechatpadpro"), &too_large).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    let get = tcp::get(admin, &path("wechatpadpro"))
        .await
        .expect("answered");
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(matches!(
        messages.send("kamigo", "C1", "x").await,
        Err(botwire::SendError::CannotSend(_))
    ));
    assert!(matches!(
        messages.send("wechatpadpro", "", "x").await,
        Err(botwire::SendError::Invalid(_))
    ));
    assert!(
        gateway.try_next_send().is_none(),
        "nothing refused was sent"
    );
    server.shutdown().await;
}
