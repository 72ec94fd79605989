//! What the server does with an adapter's batch on a channel that answers in the response:
//! it cannot (one answer per request), so it refuses with a 500 naming why and runs nothing;
//! and with an adapter's own answer to a handshake: that body, as it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use botwire_core::{Bot, Event, EventKind, Reply, handler_fn};
use botwire_platforms::{Adapter, Inbound, Mode, Parsed, Rejection, Verified};
use botwire_server::{Channel, Server};
use bytes::Bytes;
use http::request::Parts;
use http_body_util::{BodyExt, Full};

/// An in-response adapter that parses `batch` into two events, `hello` into a handshake
/// answered by itself, and anything else into one event.
#[derive(Debug)]
struct Batching;

impl Adapter for Batching {
    fn platform(&self) -> &'static str {
        "batching"
    }

    fn mode(&self) -> Mode {
        Mode::InResponse
    }

    fn deadline(&self) -> Duration {
        Duration::from_secs(5)
    }

    fn verify(&self, _request: &Parts, _body: &[u8]) -> Result<(), Rejection> {
        Ok(())
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let event = |id: &str| {
            let event = Event::new(EventKind::Other("tick".into()));
            Inbound::new(id.to_owned(), "c".to_owned(), event)
        };
        Ok(match body.bytes().as_ref() {
            b"batch" => Parsed::Batch(vec![event("a"), event("b")]),
            b"hello" => Parsed::Answer {
                reason: "a handshake",
                body: Bytes::from_static(b"{\"challenge\":\"c-1\"}"),
            },
            _ => Parsed::Event(Box::new(event("one"))),
        })
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(b"{}")
    }
}

async fn post(app: &botwire_server::App, body: &'static str) -> (u16, String) {
    let request = http::Request::post("/webhooks/batching")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a request");
    let response = app.handle(request).await;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn an_in_response_batch_is_refused_and_a_handshake_is_answered_as_the_adapter_says() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, _event| {
                counted.fetch_add(1, Ordering::SeqCst);
                async { Ok(Reply::none()) }
            }),
        )
        .build()
        .expect("a bot");
    let app = Server::new()
        .channel(Channel::new("batching", Batching))
        .bot(bot)
        .into_app()
        .expect("an app");

    let (status, body) = post(&app, "batch").await;
    assert_eq!(status, 500);
    assert!(body.contains("batch_in_response"), "{body}");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "nothing ran");

    assert_eq!(
        post(&app, "hello").await,
        (200, "{\"challenge\":\"c-1\"}".to_owned())
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    assert_eq!(post(&app, "one").await.0, 200);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let log = app.delivery_log().recent(10, None);
    let outcomes: Vec<&str> = log.iter().map(|r| r.outcome.as_str()).collect();
    assert!(
        outcomes.contains(&"rejected") && outcomes.contains(&"ignored"),
        "{outcomes:?}"
    );
}
