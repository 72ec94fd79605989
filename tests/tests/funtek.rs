//! FUNTEK end to end: real server, real TCP, the sample bot and purpose-built handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use botwire::{Bot, BoxError, Limits, Reply, handler_fn};
use botwire_e2e::{PATH, TOKEN, start};
use botwire_testkit::funtek::{self, Signer};
use botwire_testkit::{TestResponse, tcp};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use tokio::sync::Notify;

const DEADLINE: Duration = Duration::from_secs(5);

async fn post(addr: std::net::SocketAddr, body: impl Into<Bytes>) -> TestResponse {
    let request = Signer::token(TOKEN).request(PATH, body);
    tcp::send(addr, request).await.expect("the server answers")
}

/// A bot whose one state counts its runs and echoes.
fn counting(runs: Arc<AtomicUsize>) -> Bot {
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok(Reply::text(event.text().unwrap_or_default()))
                }
            }),
        )
        .build()
        .expect("valid bot")
}

#[tokio::test]
async fn sample_bot_echoes_learns_and_welcomes() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, Limits::default()).await;
    let addr = server.local_addr();

    let seed = include_str!("../fixtures/funtek/message.json");
    let echoed = post(addr, seed).await;
    assert_eq!(echoed.status, StatusCode::OK);
    assert_eq!(echoed.headers["content-type"], "application/json");
    assert_eq!(
        echoed.text(),
        r#"{"toBotState":null,"data":{"message":"Bonjour 2","messageType":"text"}}"#
    );

    let taught = post(addr, funtek::message("teach").room("r1")).await;
    assert_eq!(taught.json()["toBotState"], "teaching");

    let learned = post(
        addr,
        funtek::message("ping => pong").room("r1").state("teaching"),
    )
    .await;
    let next = learned.json()["toBotState"]
        .as_str()
        .expect("a state")
        .to_owned();
    assert_ne!(next, "teaching");

    let answered = post(addr, funtek::message("ping").room("r1").state(&next)).await;
    assert_eq!(answered.json()["data"]["message"], "pong");
    // Knowledge is per conversation.
    let elsewhere = post(addr, funtek::message("ping").room("r2").state(&next)).await;
    assert_eq!(elsewhere.json()["data"]["message"], "ping");

    let welcome = post(addr, include_str!("../fixtures/funtek/join_room.json")).await;
    assert_eq!(welcome.json()["data"]["message"], "Welcome, Desirae!");
    server.shutdown().await;
}

#[tokio::test]
async fn a_message_without_text_is_not_echoed_as_empty_text() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, Limits::default()).await;
    let addr = server.local_addr();

    let image = r#"{"roomID":"r1","event":"MESSAGE","data":{"_id":"img-1","message":"https://example.com/cat.png","messageType":"image","sender":{"_id":"u1","nickname":"Ann","isRobot":false}}}"#;
    let answered = post(addr, image).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(
        answered.json()["data"]["message"],
        format!("{} that picture.", echo_bot::NOT_TEXT)
    );

    // No `message` at all, as a client that sent only an attachment: nothing to echo.
    let bare = r#"{"roomID":"r1","event":"MESSAGE","data":{"_id":"bare-1","sender":{"_id":"u1","nickname":"Ann","isRobot":false}}}"#;
    let answered = post(addr, bare).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(
        answered.text(),
        r#"{"toBotState":null,"data":null}"#,
        "the no-op, not an empty echo"
    );

    let from_a_bot = r#"{"roomID":"r1","event":"MESSAGE","data":{"_id":"img-2","message":"https://example.com/x.png","messageType":"image","sender":{"_id":"b1","nickname":"Bot","isRobot":true}}}"#;
    let answered = post(addr, from_a_bot).await;
    assert_eq!(
        answered.json()["data"],
        serde_json::Value::Null,
        "bots get nothing"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_gets_the_same_bytes_and_runs_nothing() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = start(counting(runs.clone()), DEADLINE, Limits::default()).await;
    let body = funtek::message("once").body();
    let first = post(server.local_addr(), body.clone()).await;
    let second = post(server.local_addr(), body).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, second.body);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_copies_run_the_handler_once() {
    let runs = Arc::new(AtomicUsize::new(0));
    let server = start(counting(runs.clone()), DEADLINE, Limits::default()).await;
    let body = funtek::message("concurrent").body();
    let copies: Vec<_> = (0..100)
        .map(|_| tokio::spawn(post(server.local_addr(), body.clone())))
        .collect();
    let mut answers = Vec::new();
    for copy in copies {
        answers.push(copy.await.expect("request task"));
    }
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert!(
        answers.iter().all(|a| a.body == answers[0].body),
        "byte-identical answers"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_or_panicked_handler_lets_the_retry_run() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let flaky = handler_fn(move |_cx, _event| {
        let run = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            match run {
                0 => Err::<Reply, BoxError>("the database is down".into()),
                1 => panic!("a bug in the handler"),
                _ => Ok(Reply::text("third time lucky")),
            }
        }
    });
    let bot = Bot::builder()
        .initial("idle")
        .state("idle", flaky)
        .build()
        .expect("valid bot");
    let server = start(bot, DEADLINE, Limits::default()).await;
    let body = funtek::message("retry me").body();

    let failed = post(server.local_addr(), body.clone()).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.json()["error"], "handler_failed");
    assert!(
        !failed.text().contains("database"),
        "handler errors are not echoed"
    );

    let panicked = post(server.local_addr(), body.clone()).await;
    assert_eq!(panicked.status, StatusCode::INTERNAL_SERVER_ERROR);

    let healthy = tcp::get(server.local_addr(), "/healthz")
        .await
        .expect("health");
    assert_eq!(healthy.status, StatusCode::OK);

    let succeeded = post(server.local_addr(), body.clone()).await;
    assert_eq!(succeeded.json()["data"]["message"], "third time lucky");
    let replayed = post(server.local_addr(), body).await;
    assert_eq!(replayed.body, succeeded.body);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_a_short_json_error() {
    let limits = Limits::default().with_body_bytes(4096);
    let server = start(counting(Arc::new(AtomicUsize::new(0))), DEADLINE, limits).await;
    let addr = server.local_addr();
    let good = funtek::message("hi").body();
    let raw = |method: &str, uri: &str, body: Bytes| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .expect("request")
    };
    let oversize = Bytes::from(vec![b' '; 4097]);
    let cases: Vec<(&str, Request<Full<Bytes>>, StatusCode, &str)> = vec![
        (
            "no token",
            raw("POST", PATH, good.clone()),
            StatusCode::UNAUTHORIZED,
            "missing_token",
        ),
        (
            "wrong token",
            Signer::token("nope").request(PATH, good.clone()),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            "bearer wrong",
            Signer::token("nope").bearer().request(PATH, good.clone()),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            "not json",
            Signer::token(TOKEN).request(PATH, "not json"),
            StatusCode::BAD_REQUEST,
            "not_json",
        ),
        (
            "missing field",
            Signer::token(TOKEN).request(PATH, r#"{"event":"MESSAGE"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            "oversize",
            Signer::token(TOKEN).request(PATH, oversize),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            "GET webhook",
            raw("GET", &format!("{PATH}?token={TOKEN}"), Bytes::new()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "unknown path",
            raw("POST", "/webhooks/nope", good.clone()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST healthz",
            raw("POST", "/healthz", Bytes::new()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = tcp::send(addr, request).await.expect("answered");
        assert_eq!(response.status, status, "{name}");
        assert_eq!(response.json()["error"], code, "{name}");
        assert!(response.json()["message"].is_string(), "{name}");
        assert!(response.body.len() < 200, "{name}: short body");
        assert!(
            !response.text().contains(TOKEN),
            "{name}: never echoes the token"
        );
    }
    let allow = tcp::send(addr, raw("GET", PATH, Bytes::new()))
        .await
        .expect("answered");
    assert_eq!(allow.headers["allow"], "POST");
    // And it still serves good requests.
    assert_eq!(post(addr, good).await.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_cut_off() {
    let limits = Limits::default().with_body_bytes(1024);
    let server = start(counting(Arc::new(AtomicUsize::new(0))), DEADLINE, limits).await;
    // A streamed body has no Content-Length: the limit applies while reading.
    let chunks = [Bytes::from(vec![b'x'; 800]), Bytes::from(vec![b'x'; 800])];
    let request = Request::post(format!("{PATH}?token={TOKEN}"))
        .body(tcp::chunked(chunks))
        .expect("request");
    let response = tcp::send(server.local_addr(), request)
        .await
        .expect("answered");
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json()["error"], "body_too_large");
    server.shutdown().await;
}

#[tokio::test]
async fn a_late_handler_gets_the_no_op_in_time_and_finishes_later() {
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let slow = handler_fn(move |_cx, _event| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            Ok(Reply::text("finally").goto("idle"))
        }
    });
    let bot = Bot::builder()
        .initial("idle")
        .state("idle", slow)
        .build()
        .expect("valid bot");
    let server = start(bot, Duration::from_millis(200), Limits::default()).await;
    let body = funtek::message("slow").body();

    // The handler is blocked until we release it, so this answer cannot have waited for it.
    let answer = post(server.local_addr(), body.clone()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), r#"{"toBotState":null,"data":null}"#);
    let healthy = tcp::get(server.local_addr(), "/healthz")
        .await
        .expect("health");
    assert_eq!(healthy.status, StatusCode::OK);

    // Released, the handler finishes and its result is recorded: a retry of the delivery (which
    // waits for the claim if it is still in flight) gets the real reply.
    release.notify_one();
    let retry = post(server.local_addr(), body).await;
    assert_eq!(retry.json()["data"]["message"], "finally");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_deliveries() {
    let release = Arc::new(Notify::new());
    let entered = Arc::new(Notify::new());
    let (gate, seen) = (release.clone(), entered.clone());
    let blocking = handler_fn(move |_cx, _event| {
        let (gate, seen) = (gate.clone(), seen.clone());
        async move {
            seen.notify_one();
            gate.notified().await;
            Ok(Reply::text("done"))
        }
    });
    let bot = Bot::builder()
        .initial("idle")
        .state("idle", blocking)
        .build()
        .expect("valid bot");
    let server = start(bot, DEADLINE, Limits::default()).await;
    let addr = server.local_addr();
    let in_flight = tokio::spawn(post(addr, funtek::message("in flight")));
    entered.notified().await;
    let stopping = tokio::spawn(server.shutdown());
    release.notify_one();
    let answer = in_flight.await.expect("request task");
    assert_eq!(answer.json()["data"]["message"], "done");
    stopping.await.expect("shutdown completes");
    assert!(
        tcp::get(addr, "/healthz").await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start(
        counting(Arc::new(AtomicUsize::new(0))),
        DEADLINE,
        Limits::default(),
    )
    .await;
    let health = tcp::get(server.local_addr(), "/healthz")
        .await
        .expect("health");
    assert_eq!(
        (health.status, health.json()["status"].clone()),
        (StatusCode::OK, "ok".into())
    );
    let ready = tcp::get(server.local_addr(), "/readyz")
        .await
        .expect("ready");
    assert_eq!(
        (ready.status, ready.json()["status"].clone()),
        (StatusCode::OK, "ready".into())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn http2_deliveries_are_answered_like_http1() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, Limits::default()).await;
    let request = Signer::token(TOKEN).request(PATH, funtek::message("over h2"));
    let response = tcp::send_h2(server.local_addr(), request)
        .await
        .expect("answered over h2");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["data"]["message"], "over h2");
    server.shutdown().await;
}
