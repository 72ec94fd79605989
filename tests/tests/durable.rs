//! The default store over restarts: a server built from settings keeps its file in
//! `BOTWIRE_DATA_DIR`; what one run answered, the conversation states it saved and the work it
//! acknowledged but did not finish are there for the next run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use botwire::{Bot, Limits, Reply, Running, Server, Settings, handler_fn};
use botwire_testkit::faults::{Fault, Faulty};
use botwire_testkit::outbox::{RecordingOutbox, Replies};
use botwire_testkit::{TestResponse, funtek, kamigo, tcp};
use http::StatusCode;

const TOKEN: &str = "durable-token";
const SECRET: &str = "durable-secret";

/// A bot whose idle state answers with how many times it has run, and moves to `second` on
/// "go"; `second` answers "in second".
fn counting_bot(runs: Arc<AtomicUsize>) -> Bot {
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                let go = event.text() == Some("go");
                async move {
                    Ok(if go {
                        Reply::text("going").goto("second")
                    } else {
                        Reply::text(format!("run {run}"))
                    })
                }
            }),
        )
        .state(
            "second",
            handler_fn(|_cx, _event| async { Ok(Reply::text("in second")) }),
        )
        .build()
        .expect("a valid bot")
}

/// A server from settings on the store in `dir`, with the counting bot, replying through
/// `outbox`.
async fn start(
    dir: &tempfile::TempDir,
    runs: &Arc<AtomicUsize>,
    outbox: impl botwire::Outbox,
) -> Running {
    start_bot(dir, counting_bot(runs.clone()), outbox).await
}

/// The same with `bot`.
async fn start_bot(dir: &tempfile::TempDir, bot: Bot, outbox: impl botwire::Outbox) -> Running {
    let env = [
        (
            "BOTWIRE_DATA_DIR",
            dir.path().to_str().expect("a utf-8 path"),
        ),
        ("BOTWIRE_FUNTEK_TOKEN", TOKEN),
        ("BOTWIRE_KAMIGO_SECRET", SECRET),
        ("BOTWIRE_ADMIN_LISTEN", "off"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let settings = Settings::from_sources(None, env).expect("valid settings");
    Server::from_settings(settings)
        .expect("the store opens")
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .limits(Limits::default().with_shutdown_grace(Duration::from_millis(200)))
        .bot(bot)
        .outbox(outbox)
        .bind()
        .await
        .expect("starts")
}

async fn post_funtek(addr: SocketAddr, event: funtek::Event) -> TestResponse {
    let request = funtek::Signer::token(TOKEN).request("/webhooks/funtek", event);
    tcp::send(addr, request).await.expect("answered")
}

async fn post_kamigo(addr: SocketAddr, event: kamigo::Event) -> TestResponse {
    let request = kamigo::Signer::new(SECRET).request("/webhooks/kamigo", event);
    let response = tcp::send(addr, request).await.expect("answered");
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response
}

#[tokio::test]
async fn answers_and_states_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let runs = Arc::new(AtomicUsize::new(0));
    let delivery = funtek::message("hello");

    let (outbox, mut replies): (RecordingOutbox, Replies) = RecordingOutbox::new();
    let first = start(&dir, &runs, outbox).await;
    let answered = post_funtek(first.local_addr(), delivery.clone()).await;
    assert_eq!(answered.json()["data"]["message"], "run 1");
    post_kamigo(first.local_addr(), kamigo::message("go")).await;
    assert_eq!(replies.next_text().await, "going");
    first.shutdown().await;

    let (outbox, mut replies) = RecordingOutbox::new();
    let second = start(&dir, &runs, outbox).await;
    // The platform resends the delivery: the same bytes, and the handler does not run again.
    let resent = post_funtek(second.local_addr(), delivery).await;
    assert_eq!(resent.body, answered.body);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "one FUNTEK run and one Kamigo run"
    );
    // The Kamigo conversation is still in the state it moved to.
    post_kamigo(second.local_addr(), kamigo::message("and now?")).await;
    assert_eq!(replies.next_text().await, "in second");
    second.shutdown().await;
}

#[tokio::test]
async fn acknowledged_work_left_at_shutdown_is_done_by_the_next_run() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let runs = Arc::new(AtomicUsize::new(0));

    // The outbox is down: acknowledged replies stay queued, retrying, until shutdown.
    let (recording, _) = RecordingOutbox::new();
    let (down, faults) = Faulty::new(recording);
    faults.set(Fault::Fail);
    let first = start(&dir, &runs, down).await;
    let mut acks = Vec::new();
    for text in ["one", "two", "three"] {
        let event = kamigo::message(text).room("C-left");
        acks.push((
            event.clone(),
            post_kamigo(first.local_addr(), event).await.body,
        ));
    }
    let stopped = first.shutdown().await;
    assert_eq!(stopped.unfinished.len(), 3, "{stopped:?}");

    // The next run sends them, in order, once each.
    let (outbox, mut replies) = RecordingOutbox::new();
    let second = start(&dir, &runs, outbox).await;
    let mut sent = Vec::new();
    for _ in 0..3 {
        let reply = replies.next().await;
        assert_eq!(reply.conversation, "C-left");
        sent.push(reply.delivery_id.expect("a reply"));
    }
    let expected: Vec<String> = stopped
        .unfinished
        .iter()
        .map(|u| u.delivery_id.clone())
        .collect();
    assert_eq!(sent, expected);
    // The platform resends one: the acknowledgement kept with its job answers it, byte for
    // byte, and it is not queued again.
    let (event, ack) = acks.swap_remove(0);
    assert_eq!(post_kamigo(second.local_addr(), event).await.body, ack);
    second.shutdown().await;
    assert!(replies.try_next().is_none(), "no reply twice");
}

#[tokio::test]
async fn the_sample_bot_keeps_what_it_was_taught_across_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bot = || echo_bot::bot().expect("the sample bot");

    let (outbox, mut replies) = RecordingOutbox::new();
    let first = start_bot(&dir, bot(), outbox).await;
    // FUNTEK carries the state itself; Kamigo's is kept by the store.
    let taught = post_funtek(first.local_addr(), funtek::message("teach").room("r1")).await;
    assert_eq!(taught.json()["toBotState"], echo_bot::TEACHING);
    let learned = post_funtek(
        first.local_addr(),
        funtek::message("ping => pong")
            .room("r1")
            .state(echo_bot::TEACHING),
    )
    .await;
    assert_eq!(learned.json()["toBotState"], echo_bot::IDLE);
    post_kamigo(first.local_addr(), kamigo::message("teach").room("C1")).await;
    assert_eq!(replies.next_text().await, echo_bot::TEACH_PROMPT);
    first.shutdown().await;

    let (outbox, mut replies) = RecordingOutbox::new();
    let second = start_bot(&dir, bot(), outbox).await;
    let answered = post_funtek(second.local_addr(), funtek::message("ping").room("r1")).await;
    assert_eq!(answered.json()["data"]["message"], "pong");
    // Kamigo's conversation is still being taught.
    post_kamigo(
        second.local_addr(),
        kamigo::message("hi => hello").room("C1"),
    )
    .await;
    assert_eq!(replies.next_text().await, r#"Got it: "hi" => "hello""#);
    post_kamigo(second.local_addr(), kamigo::message("hi").room("C1")).await;
    assert_eq!(replies.next_text().await, "hello");
    second.shutdown().await;
}

#[tokio::test]
async fn an_unusable_data_dir_is_named() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").expect("written");
    let env = [
        ("BOTWIRE_DATA_DIR".to_owned(), blocker.display().to_string()),
        ("BOTWIRE_FUNTEK_TOKEN".to_owned(), TOKEN.to_owned()),
    ];
    let settings = Settings::from_sources(None, env).expect("valid settings");
    // Configuring opens nothing; building opens the store.
    let server = Server::from_settings(settings).expect("configuration only");
    let error = server.build().await.expect_err("cannot open");
    let shown = error.to_string();
    assert!(
        shown.contains("cannot open the store") && shown.contains("a-file"),
        "{shown}"
    );
}

fn settings_in(dir: &tempfile::TempDir) -> Settings {
    let env = [
        (
            "BOTWIRE_DATA_DIR",
            dir.path().to_str().expect("a utf-8 path"),
        ),
        ("BOTWIRE_FUNTEK_TOKEN", TOKEN),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    Settings::from_sources(None, env).expect("valid settings")
}

/// Built without a socket (as an embedder does), the service keeps its memory in the store the
/// settings name, not silently in memory: a second build on the same directory answers a
/// duplicate from the first build's ledger, without running the handler.
#[tokio::test]
async fn a_built_service_uses_the_configured_store() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let runs = Arc::new(AtomicUsize::new(0));
    let delivery = funtek::message("hello").id("msg-built-1");
    for build in 1..=2 {
        let built = Server::from_settings(settings_in(&dir))
            .expect("configuration only")
            .bot(counting_bot(runs.clone()))
            .build()
            .await
            .expect("builds");
        let client = botwire_testkit::TestClient::new(built.webhooks.clone());
        let response = client
            .send(funtek::Signer::token(TOKEN).request("/webhooks/funtek", delivery.clone()))
            .await;
        assert_eq!(response.status, StatusCode::OK, "build {build}");
        assert_eq!(response.json()["data"]["message"], "run 1", "build {build}");
        assert!(built.engine.shutdown().await.unfinished.is_empty());
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the duplicate ran no handler"
    );
}

/// `into_app` opens nothing: with a store in the settings it says to build instead of
/// falling back to memory.
#[test]
fn into_app_refuses_a_store_only_build_opens() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let error = Server::from_settings(settings_in(&dir))
        .expect("configuration only")
        .bot(counting_bot(Arc::default()))
        .into_app()
        .expect_err("the store is not opened");
    assert!(
        matches!(error, botwire::ServeError::StoreNotOpened),
        "{error}"
    );
    assert!(error.to_string().contains("build"), "{error}");
    assert!(
        std::fs::read_dir(dir.path())
            .expect("readable")
            .next()
            .is_none(),
        "nothing was created in the data dir"
    );
}
