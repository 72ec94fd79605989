//! SIGTERM under load: the server stops accepting, answers what is in flight, works off the
//! queue for the grace period, and names every acknowledged delivery it did not finish. Every
//! acknowledged delivery is accounted for: replied once, or named as unfinished.
//!
//! One test in its own binary: it sends SIGTERM to this process.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use botwire::platforms::auth::Secret;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::{Bot, Channel, Limits, Reply, Server, Workers, handler_fn};
use botwire_testkit::outbox::RecordingOutbox;
use botwire_testkit::{kamigo, tcp};
use http::StatusCode;
use tokio::sync::mpsc;

const SECRET: &str = "sigterm-secret";
const SENDERS: usize = 8;
/// SIGTERM goes out once this many deliveries were acknowledged.
const ACKED_BEFORE_SIGTERM: usize = 60;

/// An echo bot that takes a while over each message, so that work is left at shutdown.
fn slow_echo() -> Bot {
    Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(|_cx, event| async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(Reply::text(event.text().unwrap_or_default()))
            }),
        )
        .build()
        .expect("a valid bot")
}

/// Sends deliveries in conversation `room` until the server stops answering; reports each
/// acknowledged one's delivery id (Kamigo's is the event and the message id).
async fn sender(addr: SocketAddr, room: String, acked: mpsc::UnboundedSender<String>) -> usize {
    let mut sent = 0;
    loop {
        let id = format!("{room}-{sent}");
        let event = kamigo::message(&id).room(&room).id(&id);
        let request = kamigo::Signer::new(SECRET).request("/webhooks/kamigo", event);
        sent += 1;
        match tcp::send(addr, request).await {
            Ok(response) if response.status == StatusCode::OK => {
                let _ = acked.send(format!("message.received:{id}"));
            }
            Ok(response) => panic!("refused while running: {}", response.text()),
            Err(_) => return sent,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_accounts_for_every_acknowledged_delivery() {
    let adapter = KamigoAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    let (outbox, mut replies) = RecordingOutbox::new();
    let running = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_admin()
        .limits(Limits::default().with_shutdown_grace(Duration::from_millis(300)))
        .workers(Workers::default().with_workers(2))
        .channel(Channel::new("kamigo", adapter).with_outbox(outbox))
        .bot(slow_echo())
        .bind()
        .await
        .expect("starts");
    let addr = running.local_addr();
    let stopping = tokio::spawn(running.stop_on_signal().expect("signal handlers"));

    let (acked_tx, mut acked_rx) = mpsc::unbounded_channel();
    let senders: Vec<_> = (0..SENDERS)
        .map(|i| tokio::spawn(sender(addr, format!("room{i}"), acked_tx.clone())))
        .collect();
    drop(acked_tx);
    let mut acked = HashSet::new();
    while acked.len() < ACKED_BEFORE_SIGTERM {
        acked.insert(acked_rx.recv().await.expect("the senders run"));
    }
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", std::process::id())])
        .status()
        .expect("kill runs");
    assert!(killed.success());

    let stopped = tokio::time::timeout(Duration::from_secs(60), stopping)
        .await
        .expect("the server stops")
        .expect("the shutdown task");
    for sender in senders {
        sender.await.expect("a sender");
    }
    while let Some(id) = acked_rx.recv().await {
        acked.insert(id);
    }
    // New connections are refused once it has stopped.
    assert!(tcp::get(addr, "/healthz").await.is_err());

    let mut replied: HashMap<String, usize> = HashMap::new();
    while let Some(reply) = replies.try_next() {
        *replied
            .entry(reply.delivery_id.unwrap_or_default())
            .or_default() += 1;
    }
    let unfinished: HashSet<String> = stopped
        .unfinished
        .iter()
        .map(|u| u.delivery_id.clone())
        .collect();
    assert_eq!(
        unfinished.len(),
        stopped.unfinished.len(),
        "named once each"
    );
    for (id, times) in &replied {
        assert_eq!(*times, 1, "{id} replied {times} times");
        assert!(!unfinished.contains(id), "{id} both replied and unfinished");
    }
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !replied.contains_key(*id) && !unfinished.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but unaccounted for: {lost:?}"
    );
    println!(
        "acknowledged {}, replied {}, unfinished {}",
        acked.len(),
        replied.len(),
        unfinished.len()
    );
}
