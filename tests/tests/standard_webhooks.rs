//! Standard Webhooks end to end over TCP: mounted from `BOTWIRE_STANDARD_WEBHOOKS_SECRET`,
//! verified as the specification says, deduplicated by `webhook-id` (kept with the queued
//! job), the event handed to the bot by its `type`.

use std::time::{SystemTime, UNIX_EPOCH};

use botwire::{Bot, Reply, Server, handler_fn};
use botwire_testkit::outbox::RecordingOutbox;
use botwire_testkit::standard_webhooks::{self, SECRET, Signer};
use botwire_testkit::{TestResponse, tcp};
use http::StatusCode;

const PATH: &str = "/webhooks/standard_webhooks";

/// A server from these variables (plus a loopback listener, no admin).
fn server(vars: &[(&str, &str)]) -> Server {
    botwire_e2e::from_env(vars)
}

/// A bot that answers each event with its type and its conversation.
fn naming_bot() -> Bot {
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(|cx, event| async move {
                Ok(Reply::text(format!(
                    "{} in {}",
                    event.kind().name(),
                    cx.conversation()
                )))
            }),
        )
        .build()
        .expect("bot")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

async fn send(
    addr: std::net::SocketAddr,
    request: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> TestResponse {
    tcp::send(addr, request).await.expect("answered")
}

#[tokio::test]
async fn an_event_reaches_the_bot_by_type_once_per_webhook_id() {
    let (outbox, mut replies) = RecordingOutbox::new();
    let running = server(&[
        ("BOTWIRE_STANDARD_WEBHOOKS_SECRET", SECRET),
        ("BOTWIRE_STANDARD_WEBHOOKS_CONVERSATION", "/data/id"),
    ])
    .outbox(outbox)
    .bot(naming_bot())
    .bind()
    .await
    .expect("binds");
    let addr = running.local_addr();
    let signer = Signer::new(SECRET).expect("a secret");

    let event = standard_webhooks::contact_created("c-1");
    let first = send(
        addr,
        signer.request_with_id(PATH, "msg_once", event.clone()),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(first.text(), r#"{"ok":true}"#);
    let reply = replies.next().await;
    assert_eq!(reply.text(), Some("contact.created in c-1"));
    assert_eq!(reply.delivery_id.as_deref(), Some("msg_once"));

    // The sender's retry: same id, a later timestamp, so a new signature. Acknowledged alike,
    // not handled again (the next reply is the next event's).
    let retry = signer.clone().at(now() + 5);
    let again = send(addr, retry.request_with_id(PATH, "msg_once", event)).await;
    assert_eq!(
        (again.status, again.body.clone()),
        (first.status, first.body)
    );
    let other = standard_webhooks::event("invoice.paid", serde_json::json!({"id": 7}));
    send(addr, signer.request(PATH, other)).await;
    assert_eq!(replies.next_text().await, "invoice.paid in 7");

    // An event without the field that names its conversation is the sender's mistake: 400.
    let unnamed = standard_webhooks::event("ping", serde_json::json!({}));
    let refused = send(addr, signer.request(PATH, unnamed)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["error"], "invalid_field");
    running.shutdown().await;
}

#[tokio::test]
async fn timestamps_six_minutes_off_either_way_are_refused() {
    let running = server(&[("BOTWIRE_STANDARD_WEBHOOKS_SECRET", SECRET)])
        .bot(naming_bot())
        .bind()
        .await
        .expect("binds");
    let addr = running.local_addr();
    for at in [now() - 360, now() + 360] {
        let signer = Signer::new(SECRET).expect("a secret").at(at);
        let body = standard_webhooks::contact_created("c-1");
        let refused = send(addr, signer.request(PATH, body)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.json()["error"], "stale_timestamp");
    }
    // Another secret's signature, fresh: refused too, naming nothing it was sent.
    let stranger = Signer::new("whsec_c2Vjb25kIGtleQ==").expect("a secret");
    let refused = send(
        addr,
        stranger.request(PATH, standard_webhooks::contact_created("x")),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_signature");
    running.shutdown().await;
}

#[tokio::test]
async fn the_sample_bot_acknowledges_and_keeps_quiet() {
    let (outbox, mut replies) = RecordingOutbox::new();
    let running = server(&[("BOTWIRE_STANDARD_WEBHOOKS_SECRET", SECRET)])
        .outbox(outbox)
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("binds");
    let addr = running.local_addr();
    let answer = send(
        addr,
        Signer::new(SECRET)
            .expect("a secret")
            .request(PATH, standard_webhooks::contact_created("c-1")),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    // Shutting down drains the queue: the event was handled, and the echo bot, which answers
    // messages, had nothing to say to it.
    let stopped = running.shutdown().await;
    assert!(stopped.unfinished.is_empty(), "{stopped:?}");
    assert!(replies.try_next().is_none());
}
