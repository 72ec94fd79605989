//! Faults over real TCP: stores that are down or hang, outboxes that fail, handlers that panic
//! or never finish. The server answers in time with a clear status, keeps accepted work until
//! it can be done, and `/readyz` follows the stores.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use botwire::platforms::auth::Secret;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::store::{MemoryLedger, MemoryQueue, MemoryStateStore};
use botwire::{Bot, Channel, Reply, Server, Workers, handler_fn};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter, quick_retries};
use botwire_testkit::faults::{Fault, Faulty};
use botwire_testkit::outbox::RecordingOutbox;
use botwire_testkit::{TestResponse, funtek, kamigo, tcp};
use http::StatusCode;
use tokio::sync::mpsc;

/// Only a guard against a hung test.
const HANG_GUARD: Duration = Duration::from_secs(30);
const KAMIGO_SECRET: &str = "faults-kamigo-secret";
const KAMIGO: &str = "/webhooks/kamigo";

async fn bind(server: Server) -> botwire::Running {
    server
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .bind()
        .await
        .expect("the server starts")
}

async fn post_funtek(addr: SocketAddr, event: funtek::Event) -> TestResponse {
    let request = funtek::Signer::token(TOKEN).request(PATH, event);
    tokio::time::timeout(HANG_GUARD, tcp::send(addr, request))
        .await
        .expect("answered in time")
        .expect("answered")
}

async fn post_kamigo(addr: SocketAddr, event: kamigo::Event) -> TestResponse {
    let request = kamigo::Signer::new(KAMIGO_SECRET).request(KAMIGO, event);
    tokio::time::timeout(HANG_GUARD, tcp::send(addr, request))
        .await
        .expect("answered in time")
        .expect("answered")
}

async fn ready(addr: SocketAddr) -> StatusCode {
    tcp::get(addr, "/readyz").await.expect("answered").status
}

fn assert_refused(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.json()["error"], code, "{}", response.text());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        assert_eq!(
            response.headers["retry-after"], "1",
            "says when to try again"
        );
    }
}

/// An echo bot counting its runs. "panic" panics; "forever" never finishes, and reports on
/// `cancelled` when the server drops it.
fn unruly_bot(runs: Arc<AtomicUsize>, cancelled: mpsc::UnboundedSender<()>) -> Bot {
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(move |_cx, event| {
                runs.fetch_add(1, Ordering::SeqCst);
                let text = event.text().unwrap_or_default().to_owned();
                let cancelled = cancelled.clone();
                async move {
                    match text.as_str() {
                        "panic" => panic!("the handler fell over"),
                        "forever" => {
                            let _report = ReportOnDrop(cancelled);
                            std::future::pending::<()>().await;
                            unreachable!("pending never ends")
                        }
                        _ => Ok(Reply::text(text)),
                    }
                }
            }),
        )
        .build()
        .expect("a valid bot")
}

struct ReportOnDrop(mpsc::UnboundedSender<()>);

impl Drop for ReportOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn echo(runs: Arc<AtomicUsize>) -> Bot {
    unruly_bot(runs, mpsc::unbounded_channel().0)
}

/// A server with the e2e FUNTEK channel, answering by `deadline`.
fn funtek_server(deadline: Duration) -> Server {
    Server::new().channel(Channel::new("funtek", funtek_adapter(deadline)))
}

#[tokio::test]
async fn a_ledger_that_is_down_gives_503_and_readyz_follows() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (ledger, faults) = Faulty::new(MemoryLedger::default());
    let server = bind(
        funtek_server(Duration::from_secs(5))
            .bot(echo(runs.clone()))
            .ledger(ledger),
    )
    .await;
    let addr = server.local_addr();

    faults.set(Fault::Fail);
    let refused = post_funtek(addr, funtek::message("while down")).await;
    assert_refused(
        &refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
    assert_eq!(ready(addr).await, StatusCode::SERVICE_UNAVAILABLE);

    faults.heal();
    assert_eq!(ready(addr).await, StatusCode::OK);
    let answered = post_funtek(addr, funtek::message("back up")).await;
    assert_eq!(answered.json()["data"]["message"], "back up");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_hanging_ledger_cannot_hold_a_request_past_the_deadline() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (ledger, faults) = Faulty::new(MemoryLedger::default());
    let server = bind(
        funtek_server(Duration::from_millis(300))
            .bot(echo(runs.clone()))
            .ledger(ledger),
    )
    .await;
    let addr = server.local_addr();

    faults.set(Fault::Hang);
    // Answered at the deadline, with a status that makes the sender retry.
    let refused = post_funtek(addr, funtek::message("while hanging")).await;
    assert_refused(&refused, StatusCode::SERVICE_UNAVAILABLE, "store_slow");
    assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
    let readiness = tcp::get(addr, "/readyz").await.expect("answered");
    assert_refused(&readiness, StatusCode::SERVICE_UNAVAILABLE, "store_slow");

    faults.heal();
    let answered = post_funtek(addr, funtek::message("back up")).await;
    assert_eq!(answered.json()["data"]["message"], "back up");
    server.shutdown().await;
}

#[tokio::test]
async fn handlers_that_panic_or_never_finish_are_isolated() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (cancelled_tx, mut cancelled) = mpsc::unbounded_channel();
    let server = bind(
        funtek_server(Duration::from_millis(300))
            .workers(Workers::default().with_handler_timeout(Duration::from_millis(600)))
            .bot(unruly_bot(runs.clone(), cancelled_tx)),
    )
    .await;
    let addr = server.local_addr();

    let panicked = post_funtek(addr, funtek::message("panic")).await;
    assert_refused(
        &panicked,
        StatusCode::INTERNAL_SERVER_ERROR,
        "handler_failed",
    );

    // A handler that never finishes: the platform gets the no-op in time...
    let stuck = post_funtek(addr, funtek::message("forever").room("stuck")).await;
    assert_eq!(stuck.status, StatusCode::OK);
    assert_eq!(stuck.json()["data"], serde_json::Value::Null, "the no-op");
    // ...others are served while it runs...
    let other = post_funtek(addr, funtek::message("meanwhile").room("other")).await;
    assert_eq!(other.json()["data"]["message"], "meanwhile");
    // ...and at its timeout it is cancelled, which frees its conversation.
    tokio::time::timeout(HANG_GUARD, cancelled.recv())
        .await
        .expect("the stuck handler is cancelled")
        .expect("reported");
    let after = post_funtek(addr, funtek::message("after").room("stuck")).await;
    assert_eq!(after.json()["data"]["message"], "after");
    server.shutdown().await;
}

fn kamigo_channel(deadline: Duration) -> Channel {
    let adapter = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)])
        .expect("a secret")
        .with_deadline(deadline);
    Channel::new("kamigo", adapter)
}

#[tokio::test]
async fn via_api_stores_that_are_down_or_hang_get_503_and_nothing_is_queued() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (ledger, ledger_faults) = Faulty::new(MemoryLedger::default());
    let (queue, queue_faults) = Faulty::new(MemoryQueue::new(100, 100));
    let (outbox, mut replies) = RecordingOutbox::new();
    let server = bind(
        Server::new()
            .channel(kamigo_channel(Duration::from_millis(300)).with_outbox(outbox))
            .bot(echo(runs.clone()))
            .ledger(ledger)
            .queue(queue),
    )
    .await;
    let addr = server.local_addr();

    ledger_faults.set(Fault::Fail);
    let refused = post_kamigo(addr, kamigo::message("ledger down")).await;
    assert_refused(
        &refused,
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
    );
    ledger_faults.heal();

    queue_faults.set(Fault::Hang);
    let delivery = kamigo::message("queue hangs");
    let refused = post_kamigo(addr, delivery.clone()).await;
    assert_refused(&refused, StatusCode::SERVICE_UNAVAILABLE, "store_slow");
    assert_eq!(ready(addr).await, StatusCode::SERVICE_UNAVAILABLE);
    queue_faults.heal();

    // The claim of the refused delivery was released: the sender's retry is accepted.
    let retried = post_kamigo(addr, delivery).await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(replies.next_text().await, "queue hangs");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "only the accepted delivery ran"
    );
    assert_eq!(ready(addr).await, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn a_send_that_fails_after_the_state_moved_does_not_move_it_twice() {
    let (recording, mut replies) = RecordingOutbox::new();
    let (outbox, outbox_faults) = Faulty::new(recording);
    let server = bind(
        Server::new()
            .channel(kamigo_channel(Duration::from_secs(5)).with_outbox(outbox))
            .workers(quick_retries(5))
            .bot(echo_bot::bot().expect("bot")),
    )
    .await;
    let addr = server.local_addr();

    // "teach" moves the conversation to teaching; its reply fails once and is sent again from
    // the checkpoint, without running the handler or saving the state a second time.
    outbox_faults.set(Fault::FailTimes(1));
    post_kamigo(addr, kamigo::message("teach")).await;
    assert_eq!(replies.next_text().await, echo_bot::TEACH_PROMPT);
    assert_eq!(outbox_faults.injected(), 1);
    post_kamigo(addr, kamigo::message("ping => pong")).await;
    assert_eq!(replies.next_text().await, r#"Got it: "ping" => "pong""#);
    post_kamigo(addr, kamigo::message("ping")).await;
    assert_eq!(replies.next_text().await, "pong");
    assert!(replies.try_next().is_none(), "no reply twice");
    server.shutdown().await;
}

#[tokio::test]
async fn a_chatwork_delivery_a_store_could_not_keep_is_named_as_lost() {
    use botwire::platforms::chatwork::ChatworkAdapter;
    use botwire_testkit::chatwork;

    let token = chatwork::Signer::sample_token();
    let adapter = ChatworkAdapter::new(&[Secret::new(token.clone())]).expect("a token");
    let (ledger, faults) = Faulty::new(MemoryLedger::default());
    let server = bind(
        Server::new()
            .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
            .channel(Channel::new("chatwork", adapter))
            .bot(echo(Arc::new(AtomicUsize::new(0))))
            .ledger(ledger),
    )
    .await;

    faults.set(Fault::Fail);
    let event = chatwork::message_created("into the void").id("m-lost");
    let request = chatwork::Signer::new(&token)
        .expect("base64")
        .request("/webhooks/chatwork", event);
    let answered = tcp::send(server.local_addr(), request)
        .await
        .expect("answered");
    // Chatwork never resends: a verified delivery is answered 200, with the reason.
    assert_refused(&answered, StatusCode::OK, "store_unavailable");
    let admin = server.admin_addr().expect("admin");
    let log = tcp::get(admin, "/deliveries")
        .await
        .expect("answered")
        .json();
    let record = &log["deliveries"][0];
    assert_eq!(record["outcome"], "failed", "{log}");
    assert!(
        record["delivery_id"]
            .as_str()
            .is_some_and(|id| id.contains("m-lost")),
        "{log}"
    );
    assert!(
        record["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("lost")),
        "{log}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn accepted_via_api_work_survives_a_failing_state_store_and_outbox() {
    let (states, state_faults) = Faulty::new(MemoryStateStore::default());
    let (recording, mut replies) = RecordingOutbox::new();
    let (outbox, outbox_faults) = Faulty::new(recording);
    let server = bind(
        Server::new()
            .channel(kamigo_channel(Duration::from_secs(5)).with_outbox(outbox))
            .workers(quick_retries(50))
            .bot(echo_bot::bot().expect("bot"))
            .state_store(states),
    )
    .await;
    let addr = server.local_addr();

    // Every other call fails, and the state store is down for the first deliveries.
    state_faults.set(Fault::Fail);
    outbox_faults.set(Fault::FailEvery(2));
    let texts: Vec<String> = (0..10).map(|i| format!("message {i}")).collect();
    for text in &texts {
        let acked = post_kamigo(addr, kamigo::message(text)).await;
        assert_eq!(
            acked.status,
            StatusCode::OK,
            "accepted while a store is down"
        );
    }
    assert_eq!(ready(addr).await, StatusCode::SERVICE_UNAVAILABLE);
    state_faults.set(Fault::FailEvery(2));

    // Every reply arrives once, in order.
    for text in &texts {
        assert_eq!(&replies.next_text().await, text);
    }
    assert!(replies.try_next().is_none(), "no reply twice");
    assert!(state_faults.injected() > 0 && outbox_faults.injected() > 0);
    state_faults.heal();
    assert_eq!(ready(addr).await, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_fails_to_record_an_outcome_leaves_no_conversation_stuck() {
    let (queue, faults) = Faulty::new(MemoryQueue::new(100, 100));
    let (recording, mut replies) = RecordingOutbox::new();
    let server = bind(
        Server::new()
            .channel(kamigo_channel(Duration::from_secs(5)).with_outbox(recording))
            .workers(quick_retries(50))
            .bot(echo_bot::bot().expect("bot"))
            .queue(queue),
    )
    .await;
    let addr = server.local_addr();

    // Every other queue call fails: pushes (the sender resends on 503), takes, and the
    // finishes and retries that record how an attempt ended.
    faults.set(Fault::FailEvery(2));
    let texts: Vec<String> = (0..10).map(|i| format!("message {i}")).collect();
    for text in &texts {
        let mut acked = false;
        for _ in 0..10 {
            if post_kamigo(addr, kamigo::message(text).id(text))
                .await
                .status
                == StatusCode::OK
            {
                acked = true;
                break;
            }
        }
        assert!(acked, "{text} was never accepted");
    }
    for text in &texts {
        let reply = tokio::time::timeout(HANG_GUARD, replies.next_text()).await;
        assert_eq!(&reply.expect("no conversation is stuck"), text);
    }
    assert!(replies.try_next().is_none(), "no reply twice");
    assert!(faults.injected() > 0);
    faults.heal();
    server.shutdown().await;
}
