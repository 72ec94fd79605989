//! Replies that reach the platforms' send APIs: the sample bot configured from `BOTWIRE_*`
//! variables as a user would, its replies arriving at a fake of each API over TCP, in the
//! documented request shape, in order, once; failures retried, then dead-lettered, replayed.

use botwire::{Running, Server, Settings};
use std::collections::HashMap;
use std::time::Duration;

use botwire_testkit::chatwork_api::FakeApi as FakeChatwork;
use botwire_testkit::webhook_receiver::{Delivered, Receiver};
use botwire_testkit::wechatpadpro_api::FakeApi as FakeGateway;
use botwire_testkit::{TestResponse, chatwork, kamigo, tcp, wechatpadpro};
use http::StatusCode;

const WECHAT_SECRET: &str = "wechat-secret";
const WECHAT: &str = "/webhooks/wechatpadpro";
const KAMIGO_SECRET: &str = "kamigo-secret";
const KAMIGO: &str = "/webhooks/kamigo";
/// The Standard Webhooks libraries' own test secret.
const OUTBOX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The sample bot from these variables (on top of loopback listeners, the memory store and
/// retries 1 ms apart).
async fn start(vars: &[(&str, &str)]) -> Running {
    let mut all = env(&[
        ("BOTWIRE_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_STORE", "memory"),
        ("BOTWIRE_QUEUE_MAX_ATTEMPTS", "3"),
        ("BOTWIRE_QUEUE_RETRY_BASE", "1ms"),
        ("BOTWIRE_QUEUE_RETRY_MAX", "1ms"),
    ]);
    all.extend(env(vars));
    let settings = Settings::from_sources(None, all).expect("valid settings");
    Server::from_settings(settings)
        .expect("channels configure")
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("the server starts")
}

async fn send_wechat(addr: std::net::SocketAddr, event: wechatpadpro::Event) -> TestResponse {
    let request = wechatpadpro::Signer::new(WECHAT_SECRET).request(WECHAT, event);
    let response = tcp::send(addr, request).await.expect("answered");
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response
}

#[tokio::test]
async fn sample_bot_on_wechatpadpro_replies_through_the_gateway() {
    let mut gateway = FakeGateway::start().await;
    let base = gateway.base();
    let server = start(&[
        ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
        ("BOTWIRE_WECHATPADPRO_API_BASE", &base),
        ("BOTWIRE_WECHATPADPRO_API_KEY", "account-key"),
        ("BOTWIRE_WECHATPADPRO_MENTION", "true"),
    ])
    .await;
    let addr = server.local_addr();

    for text in ["hello", "teach", "ping => pong", "ping"] {
        send_wechat(addr, wechatpadpro::text(text)).await;
    }
    let mut sent = Vec::new();
    for _ in 0..4 {
        let message = gateway.next_message().await;
        // The documented shape: one text item to the other party, with the account's key.
        assert_eq!(
            (message.to.as_str(), message.key.as_str(), message.msg_type),
            ("wxid_sender12345", "account-key", 1)
        );
        assert_eq!((message.items, message.at.len()), (1, 0));
        sent.push(message.text);
    }
    assert_eq!(
        sent,
        [
            "hello",
            echo_bot::TEACH_PROMPT,
            r#"Got it: "ping" => "pong""#,
            "pong"
        ]
    );

    // A group's reply goes to the chatroom, mentioning the member who wrote.
    send_wechat(
        addr,
        wechatpadpro::group_text("4242@chatroom", "wxid_member", "hello group"),
    )
    .await;
    let group = gateway.next_message().await;
    assert_eq!(
        (group.to.as_str(), group.text.as_str(), group.at),
        (
            "4242@chatroom",
            "hello group",
            vec!["wxid_member".to_owned()]
        )
    );
    // Once each: nothing more was sent.
    assert!(gateway.try_next_send().is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn a_failing_gateway_is_retried_then_dead_lettered_and_a_replay_delivers() {
    let mut gateway = FakeGateway::start().await;
    let base = gateway.base();
    let server = start(&[
        ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
        ("BOTWIRE_WECHATPADPRO_API_BASE", &base),
        ("BOTWIRE_WECHATPADPRO_API_KEY", "account-key"),
    ])
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));

    // An account offline (HTTP 200, another Code), then a 502: retried, then sent.
    gateway.answer_code(-2);
    gateway.answer(502);
    send_wechat(addr, wechatpadpro::text("persist")).await;
    let first = gateway.next_send().await;
    assert_eq!((first.status, first.code), (200, -2));
    assert_eq!(gateway.next_send().await.status, 502);
    assert_eq!(gateway.next_message().await.text, "persist");

    // Three failures spend the three attempts: a dead letter, with the reason.
    for _ in 0..3 {
        gateway.answer(503);
    }
    send_wechat(addr, wechatpadpro::text("lost for now")).await;
    for _ in 0..3 {
        assert_eq!(gateway.next_send().await.status, 503);
    }
    // The conversation's next message goes only once the first is given up on.
    send_wechat(addr, wechatpadpro::text("next")).await;
    assert_eq!(gateway.next_message().await.text, "next");
    let dead = tcp::get(admin, "/dead-letters").await.expect("answered");
    let letter = dead.json()["dead_letters"][0].clone();
    assert_eq!(letter["attempts"], 3);
    assert!(
        letter["last_error"]
            .as_str()
            .is_some_and(|r| r.contains("WeChatPadPro answered 503")),
        "{letter}"
    );
    // The key never shows, in the reason or anywhere in the dead letter.
    assert!(!letter.to_string().contains("account-key"), "{letter}");

    let id = letter["id"].as_u64().expect("an id");
    let request = http::Request::post(format!("/dead-letters/{id}/replay"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let replayed = tcp::send(admin, request).await.expect("answered");
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text());
    assert_eq!(gateway.next_message().await.text, "lost for now");

    // A refused request (a 4xx Code) is not retried: it is a dead letter at once.
    gateway.answer_code(401);
    send_wechat(addr, wechatpadpro::text("refused")).await;
    assert_eq!(gateway.next_send().await.code, 401);
    send_wechat(addr, wechatpadpro::text("after")).await;
    assert_eq!(gateway.next_message().await.text, "after");
    server.shutdown().await;
}

async fn send_kamigo(addr: std::net::SocketAddr, event: kamigo::Event) {
    let request = kamigo::Signer::new(KAMIGO_SECRET).request(KAMIGO, event);
    let response = tcp::send(addr, request).await.expect("answered");
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn kamigo_replies_reach_the_users_service_signed_as_standard_webhooks() {
    let mut receiver = Receiver::start(OUTBOX_SECRET).await;
    let url = receiver.url();
    let server = start(&[
        ("BOTWIRE_KAMIGO_SECRET", KAMIGO_SECRET),
        ("BOTWIRE_KAMIGO_OUTBOX_URL", &url),
        ("BOTWIRE_KAMIGO_OUTBOX_SECRET", OUTBOX_SECRET),
    ])
    .await;
    let addr = server.local_addr();

    send_kamigo(addr, kamigo::message("teach").id("m-teach")).await;
    send_kamigo(addr, kamigo::message("ping => pong")).await;
    send_kamigo(addr, kamigo::message("ping")).await;
    let first = receiver.next_message().await;
    assert_eq!(first.verified, Ok(()));
    assert_eq!(first.text(), echo_bot::TEACH_PROMPT);
    assert_eq!(first.json["channel"], "kamigo");
    assert_eq!(first.json["conversation"], "C1234567890");
    assert_eq!(first.json["delivery_id"], "message.received:m-teach");
    // The webhook-id is the message id, stable across attempts.
    assert_eq!(first.id, "reply-message.received:m-teach");
    assert_eq!(first.json["message_id"], first.id.as_str());
    let texts = [receiver.next_message().await, receiver.next_message().await];
    assert!(texts.iter().all(|d| d.verified.is_ok()));
    assert_eq!(
        texts.iter().map(Delivered::text).collect::<Vec<_>>(),
        [r#"Got it: "ping" => "pong""#, "pong"]
    );

    // The service fails once: the same message comes again, with the same id.
    receiver.answer(503);
    send_kamigo(addr, kamigo::message("again").id("m-again")).await;
    let failed = receiver.next_post().await;
    assert_eq!(failed.status, 503);
    let resent = receiver.next_message().await;
    assert_eq!(
        (resent.id.as_str(), resent.text()),
        (failed.id.as_str(), "again")
    );
    assert_eq!(resent.verified, Ok(()));

    // A receiver with another secret does not accept them.
    let mut stranger = Receiver::start("whsec_c29tZSBvdGhlciBzZWNyZXQ=").await;
    let other = start(&[
        ("BOTWIRE_KAMIGO_SECRET", KAMIGO_SECRET),
        ("BOTWIRE_KAMIGO_OUTBOX_URL", &stranger.url()),
        ("BOTWIRE_KAMIGO_OUTBOX_SECRET", OUTBOX_SECRET),
    ])
    .await;
    send_kamigo(other.local_addr(), kamigo::message("hi")).await;
    assert!(stranger.next_message().await.verified.is_err());
    other.shutdown().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chatwork_replies_keep_under_its_limits_and_arrive_in_order_per_room() {
    const ROOMS: u64 = 25;
    const PER_ROOM: u64 = 20;
    let window = Duration::from_millis(500);
    let mut api = FakeChatwork::start().await;
    // Chatwork's two limits, scaled down: 50 calls per token and 5 posts per room a window.
    api.enforce_limits((50, window), (5, window));
    let token = chatwork::Signer::sample_token();
    let base = api.base();
    let server = start(&[
        ("BOTWIRE_CHATWORK_TOKEN", &token),
        ("BOTWIRE_CHATWORK_API_TOKEN", "api-token"),
        ("BOTWIRE_CHATWORK_API_BASE", &base),
        ("BOTWIRE_CHATWORK_RATE_LIMIT", "50/500ms"),
        ("BOTWIRE_CHATWORK_CONVERSATION_RATE_LIMIT", "5/500ms"),
    ])
    .await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().expect("admin"));
    let signer = chatwork::Signer::new(&token).expect("base64");

    for n in 0..PER_ROOM {
        for room in 1..=ROOMS {
            let event = chatwork::message_created(&format!("{room}:{n}")).room(room);
            let response = tcp::send(addr, signer.request("/webhooks/chatwork", event))
                .await
                .expect("answered");
            assert_eq!(response.status, StatusCode::OK);
        }
    }
    let mut by_room: HashMap<String, Vec<u64>> = HashMap::new();
    for _ in 0..ROOMS * PER_ROOM {
        let posted = api.next_message().await;
        let (room, n) = posted.body.split_once(':').expect("room:n");
        assert_eq!(room, posted.room);
        by_room
            .entry(posted.room.clone())
            .or_default()
            .push(n.parse().expect("a number"));
    }
    assert_eq!(by_room.len() as u64, ROOMS);
    for (room, sent) in &by_room {
        assert_eq!(*sent, (0..PER_ROOM).collect::<Vec<_>>(), "room {room}");
    }
    // Kept under both limits by the client: no 429 to wait out, and nothing given up on.
    assert_eq!(api.limited(), 0);
    let dead = tcp::get(admin, "/dead-letters").await.expect("answered");
    assert_eq!(
        dead.json()["dead_letters"].as_array().map(Vec::len),
        Some(0)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_429_is_waited_out_and_never_spends_an_attempt() {
    let mut api = FakeChatwork::start().await;
    // More 429s than attempts allowed: none of them counts.
    for _ in 0..5 {
        api.answer(429, &[("retry-after", "0")]);
    }
    let token = chatwork::Signer::sample_token();
    let base = api.base();
    let server = start(&[
        ("BOTWIRE_CHATWORK_TOKEN", &token),
        ("BOTWIRE_CHATWORK_API_TOKEN", "api-token"),
        ("BOTWIRE_CHATWORK_API_BASE", &base),
        ("BOTWIRE_CHATWORK_RATE_LIMIT", "off"),
        ("BOTWIRE_CHATWORK_CONVERSATION_RATE_LIMIT", "off"),
    ])
    .await;
    let signer = chatwork::Signer::new(&token).expect("base64");
    let response = tcp::send(
        server.local_addr(),
        signer.request("/webhooks/chatwork", chatwork::message_created("patience")),
    )
    .await
    .expect("answered");
    assert_eq!(response.status, StatusCode::OK);
    for _ in 0..5 {
        assert_eq!(api.next_post().await.status, 429);
    }
    assert_eq!(api.next_message().await.body, "patience");
    server.shutdown().await;
}

#[test]
fn half_a_send_api_is_refused_with_the_setting_named() {
    for (set, missing) in [
        ("BOTWIRE_WECHATPADPRO_API_BASE", "api_key"),
        ("BOTWIRE_WECHATPADPRO_API_KEY", "api_base"),
    ] {
        let settings = Settings::from_sources(
            None,
            env(&[
                ("BOTWIRE_STORE", "memory"),
                ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
                (set, "http://127.0.0.1:1/v849"),
            ]),
        )
        .expect("valid settings");
        let error = Server::from_settings(settings).expect_err("half a send API");
        let message = error.to_string();
        assert!(message.contains(missing), "{message}");
        assert!(!message.contains("127.0.0.1:1"), "{message}");
    }
    let settings = Settings::from_sources(
        None,
        env(&[
            ("BOTWIRE_STORE", "memory"),
            ("BOTWIRE_WECHATPADPRO_SECRET", WECHAT_SECRET),
            ("BOTWIRE_WECHATPADPRO_API_BASE", "ftp://gateway"),
            ("BOTWIRE_WECHATPADPRO_API_KEY", "k"),
        ]),
    )
    .expect("valid settings");
    let error = Server::from_settings(settings).expect_err("not http");
    assert!(
        error.to_string().contains("BOTWIRE_WECHATPADPRO_API_BASE"),
        "{error}"
    );
}
