//! What the admin page reads: a conversation looked up by id (its state and what its bot
//! remembered), and the delivery log narrowed by channel, outcome and conversation.

use botwire::{Admin, Built};
use botwire_e2e::{PATH, TOKEN, funtek_and_kamigo};
use botwire_testkit::outbox::RecordingOutbox;
use botwire_testkit::{funtek, kamigo};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};

const KAMIGO_SECRET: &str = "kamigo-secret";

async fn get(admin: &Admin, method: &str, path: &str) -> (StatusCode, serde_json::Value) {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = admin.handle(request).await;
    let status = response.status();
    let body = response.into_body().collect().await.expect("a body");
    let json = serde_json::from_slice(&body.to_bytes()).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn a_conversation_shows_its_state_and_what_its_bot_remembered() {
    let (outbox, mut replies) = RecordingOutbox::new();
    let Built {
        webhooks,
        admin,
        engine,
        ..
    } = funtek_and_kamigo(KAMIGO_SECRET, outbox)
        .build()
        .await
        .expect("builds");

    let signer = kamigo::Signer::new(KAMIGO_SECRET);
    for text in ["teach", "ping => <b>pong</b>", "teach"] {
        let request = signer.request("/webhooks/kamigo", kamigo::message(text).room("group/1"));
        assert_eq!(webhooks.handle(request).await.status(), StatusCode::OK);
        replies.next().await;
    }
    let funtek = funtek::Signer::token(TOKEN);
    let hello = funtek.request(PATH, funtek::message("hello").id("m-1").state("idle"));
    assert_eq!(webhooks.handle(hello).await.status(), StatusCode::OK);

    let (status, found) = get(&admin, "GET", "/conversations/kamigo/group%2F1").await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["channel"], "kamigo");
    assert_eq!(found["conversation"], "group/1");
    assert_eq!(found["state_kept_by"], "botwire");
    assert_eq!(found["state"], "teaching");
    assert_eq!(found["version"], 3, "three moves: teaching, idle, teaching");
    assert_eq!(
        found["data"],
        serde_json::json!([{"key": "answer:ping", "value": "<b>pong</b>"}])
    );

    let (status, fresh) = get(&admin, "GET", "/conversations/kamigo/nobody").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fresh["state"], serde_json::Value::Null, "no move yet");
    assert_eq!(fresh["data"], serde_json::json!([]));

    // FUNTEK sends the state with each delivery; botwire keeps none of its own.
    let (status, carried) = get(&admin, "GET", "/conversations/funtek/room-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(carried["state_kept_by"], "platform");
    assert_eq!(carried["state"], serde_json::Value::Null);

    let (status, unknown) = get(&admin, "GET", "/conversations/nope/room").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["error"], "unknown_channel");
    let (status, _) = get(&admin, "DELETE", "/conversations/kamigo/group%2F1").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // The log, narrowed: by outcome, by conversation, and by both with a channel.
    let (_, all) = get(&admin, "GET", "/deliveries").await;
    let channels: Vec<&str> = all["channels"]
        .as_array()
        .expect("the channels")
        .iter()
        .map(|c| c["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(channels, ["funtek", "kamigo"]);
    assert_eq!(all["channels"][1]["platform"], "kamigo");
    let count = |json: &serde_json::Value| json["deliveries"].as_array().expect("an array").len();
    let (_, queued) = get(&admin, "GET", "/deliveries?outcome=queued").await;
    assert_eq!(count(&queued), 3);
    let (_, in_room) = get(
        &admin,
        "GET",
        "/deliveries?conversation=group%2F1&outcome=replied",
    )
    .await;
    assert_eq!(count(&in_room), 3);
    assert!(
        in_room["deliveries"]
            .as_array()
            .expect("an array")
            .iter()
            .all(|d| d["conversation"] == "group/1" && d["outcome"] == "replied")
    );
    let (_, none) = get(
        &admin,
        "GET",
        "/deliveries?channel=funtek&conversation=group%2F1",
    )
    .await;
    assert_eq!(count(&none), 0);
    let (status, refused) = get(&admin, "GET", "/deliveries?outcome=exploded").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_outcome");

    let stopped = engine.shutdown().await;
    assert!(stopped.unfinished.is_empty(), "{stopped:?}");
}
