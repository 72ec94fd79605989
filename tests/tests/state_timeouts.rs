//! State timeouts end to end, on a via-API platform (Kamigo, whose state botwire keeps): the
//! sample bot leaves `teaching` by itself and says so, once — on memory, across two instances
//! sharing Redis, and across a restart of the embedded store. On FUNTEK, which carries the
//! state itself, the message goes out through IMKit and the move reaches the platform in the
//! next delivery's response.
//!
//! Each test waits for the outbox, never for time: the timeouts are short (about a second)
//! and the server looks for them every 20 ms.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use botwire::platforms::auth::Secret;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::store::{
    ConversationKey, DueTimer, EmbeddedStore, MemoryTimers, StoreError, Timer, Timers,
};
use botwire::{Bot, Channel, Reply, Server, Settings, StateTimeout, Workers, handler_fn};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter};
use botwire_testkit::faults::{Fault, Faulty};
use botwire_testkit::imkit_api::FakeApi as FakeImkit;
use botwire_testkit::outbox::{RecordingOutbox, Replies};
use botwire_testkit::redis_server::RedisServer;
use botwire_testkit::{funtek, kamigo, tcp};
use echo_bot::{TEACH_PROMPT, TIMED_OUT};
use http::StatusCode;
use tokio::sync::{Notify, mpsc};

const SECRET: &str = "timeouts-secret";
const TEACH_TIMEOUT: Duration = Duration::from_millis(1200);
/// Only a guard against a hung test.
const GUARD: Duration = Duration::from_secs(30);

fn workers() -> Workers {
    Workers::default().with_timer_poll(Duration::from_millis(20))
}

fn channel(outbox: &RecordingOutbox) -> Channel {
    let adapter = KamigoAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    Channel::new("kamigo", adapter).with_outbox(outbox.clone())
}

async fn say(addr: SocketAddr, room: &str, text: &str) {
    let request =
        kamigo::Signer::new(SECRET).request("/webhooks/kamigo", kamigo::message(text).room(room));
    let answered = tcp::send(addr, request).await.expect("answered");
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
}

/// The next message sent: (conversation, text).
async fn next(replies: &mut Replies) -> (String, String) {
    let sent = tokio::time::timeout(GUARD, replies.next())
        .await
        .expect("a message goes out");
    (
        sent.conversation.clone(),
        sent.text().unwrap_or_default().to_owned(),
    )
}

fn sent(room: &str, text: &str) -> (String, String) {
    (room.to_owned(), text.to_owned())
}

/// A server on loopback with Kamigo replying into `outbox`, timers looked for every 20 ms, and
/// the sample bot leaving teaching after [`TEACH_TIMEOUT`].
fn server(outbox: &RecordingOutbox) -> Server {
    Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .workers(workers())
        .channel(channel(outbox))
        .bot(echo_bot::bot_with(TEACH_TIMEOUT).expect("the sample bot"))
}

/// The admin listener's `/deliveries?{query}`.
async fn deliveries(admin: SocketAddr, query: &str) -> serde_json::Value {
    let request = http::Request::get(format!("/deliveries?{query}"))
        .header("host", "127.0.0.1")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("a request");
    tcp::send(admin, request).await.expect("answered").json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teaching_times_out_once_and_an_event_first_takes_it_away() {
    let (outbox, mut replies) = RecordingOutbox::new();
    let server = server(&outbox)
        .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();

    // Room B is taught and cancels at once: its timer goes with the move to idle.
    say(addr, "B", "teach").await;
    assert_eq!(next(&mut replies).await, sent("B", TEACH_PROMPT));
    say(addr, "B", "cancel").await;
    assert_eq!(next(&mut replies).await, sent("B", "OK, never mind."));
    // Room A is left in teaching.
    say(addr, "A", "teach").await;
    assert_eq!(next(&mut replies).await, sent("A", TEACH_PROMPT));
    // B's timer would have been due first: the next message is A's timeout, and only it.
    assert_eq!(next(&mut replies).await, sent("A", TIMED_OUT));
    // A is idle again: it echoes, and no second timeout came in between.
    say(addr, "A", "ping").await;
    assert_eq!(next(&mut replies).await, sent("A", "ping"));
    assert!(replies.try_next().is_none());

    let admin = server.admin_addr().expect("the admin listener");
    let log = deliveries(admin, "outcome=replied&conversation=A").await;
    let timed_out = log["deliveries"]
        .as_array()
        .expect("the deliveries")
        .iter()
        .find(|record| record["kind"] == "timed_out")
        .cloned()
        .expect("the timeout is in the delivery log");
    assert_eq!(timed_out["reply"], TIMED_OUT);
    assert_eq!(timed_out["state_before"], "teaching");
    assert_eq!(timed_out["state_after"], "idle");
    let stopped = server.shutdown().await;
    assert!(stopped.unfinished.is_empty(), "{stopped:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_redis_send_the_timeout_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // One outbox for both: whichever instance fires the timeout, it is recorded here.
    let (outbox, mut replies) = RecordingOutbox::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let env = [
            ("BOTWIRE_STORE", redis.url()),
            ("BOTWIRE_REDIS_PREFIX", "timeouts".to_owned()),
            ("BOTWIRE_ADMIN_LISTEN", "off".to_owned()),
            ("BOTWIRE_QUEUE_TIMER_POLL", "20ms".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let server = Server::from_settings(Settings::from_sources(None, env).expect("valid"))
            .expect("configured")
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .channel(channel(&outbox))
            .bot(echo_bot::bot_with(TEACH_TIMEOUT).expect("the sample bot"))
            .bind()
            .await
            .expect("connects to Redis and starts");
        servers.push(server);
    }
    let (a, b) = (servers[0].local_addr(), servers[1].local_addr());
    say(a, "R", "teach").await;
    assert_eq!(next(&mut replies).await, sent("R", TEACH_PROMPT));
    assert_eq!(next(&mut replies).await, sent("R", TIMED_OUT));
    // Both instances looked for it; it went out once, and the room is idle on both.
    say(b, "R", "ping").await;
    assert_eq!(next(&mut replies).await, sent("R", "ping"));
    say(a, "R", "pong").await;
    assert_eq!(next(&mut replies).await, sent("R", "pong"));
    assert!(replies.try_next().is_none(), "nothing twice");
    for server in servers {
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_set_before_a_restart_fires_after_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("botwire.redb");
    let start = |outbox: &RecordingOutbox| {
        let store = EmbeddedStore::open(&path).expect("opens");
        server(outbox).store(store).bind()
    };
    let (outbox, mut replies) = RecordingOutbox::new();
    let first = start(&outbox).await.expect("starts");
    say(first.local_addr(), "R", "teach").await;
    assert_eq!(next(&mut replies).await, sent("R", TEACH_PROMPT));
    first.shutdown().await;
    assert!(replies.try_next().is_none(), "stopped before the timeout");

    let (outbox, mut replies) = RecordingOutbox::new();
    let second = start(&outbox).await.expect("starts again on the same file");
    assert_eq!(next(&mut replies).await, sent("R", TIMED_OUT));
    say(second.local_addr(), "R", "ping").await;
    assert_eq!(next(&mut replies).await, sent("R", "ping"));
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timers_store_that_fails_every_third_call_delays_nothing_for_good() {
    // Every third call fails, whoever makes it: the timer loop's look and claim (it looks
    // again at the next poll) or a worker's set, get or remove (the attempt is retried).
    let (timers, faults) = Faulty::new(MemoryTimers::default());
    faults.set(Fault::FailEvery(3));
    let (outbox, mut replies) = RecordingOutbox::new();
    let server = server(&outbox)
        .workers(
            workers()
                .with_max_attempts(50)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .timers(timers)
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();
    say(addr, "R", "teach").await;
    assert_eq!(next(&mut replies).await, sent("R", TEACH_PROMPT));
    assert_eq!(next(&mut replies).await, sent("R", TIMED_OUT));
    say(addr, "R", "ping").await;
    assert_eq!(next(&mut replies).await, sent("R", "ping"));
    assert!(replies.try_next().is_none(), "each once");
    assert!(faults.injected() > 0, "the store did fail");
    server.shutdown().await;
}

/// Memory timers that say when one is claimed (the timer loop is about to queue its job) and
/// when one is removed by generation (a worker ran its timeout).
struct Signalling {
    inner: MemoryTimers,
    claimed: mpsc::UnboundedSender<u64>,
    removed: mpsc::UnboundedSender<u64>,
}

impl Signalling {
    fn new() -> (
        Self,
        mpsc::UnboundedReceiver<u64>,
        mpsc::UnboundedReceiver<u64>,
    ) {
        let (claimed, claimed_rx) = mpsc::unbounded_channel();
        let (removed, removed_rx) = mpsc::unbounded_channel();
        let timers = Self {
            inner: MemoryTimers::default(),
            claimed,
            removed,
        };
        (timers, claimed_rx, removed_rx)
    }
}

#[botwire::async_trait]
impl Timers for Signalling {
    async fn set(&self, key: &ConversationKey<'_>, timer: &Timer) -> Result<(), StoreError> {
        self.inner.set(key, timer).await
    }

    async fn get(&self, key: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError> {
        self.inner.get(key).await
    }

    async fn remove(
        &self,
        key: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let removed = self.inner.remove(key, generation).await?;
        if let (true, Some(generation)) = (removed, generation) {
            let _ = self.removed.send(generation);
        }
        Ok(removed)
    }

    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        self.inner.due(now, limit).await
    }

    async fn claim(
        &self,
        key: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let got = self.inner.claim(key, generation, now, until).await?;
        if got {
            let _ = self.claimed.send(generation);
        }
        Ok(got)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_queued_before_the_timeout_fell_due_overtakes_it() {
    let release = Arc::new(Notify::new());
    let waiting = {
        let release = release.clone();
        handler_fn(move |_cx, event| {
            let release = release.clone();
            async move {
                if event.text() == Some("block") {
                    release.notified().await;
                    return Ok(Reply::text("unblocked"));
                }
                Ok(Reply::text("still waiting"))
            }
        })
    };
    let bot = Bot::builder()
        .initial("idle")
        .state(
            "idle",
            handler_fn(|_cx, _event| async { Ok(Reply::text("waiting").goto("waiting")) }),
        )
        .state("waiting", waiting)
        .timeout(
            "waiting",
            StateTimeout::new(Duration::from_millis(100), "idle").saying("timed out"),
        )
        .build()
        .expect("a valid bot");
    let (timers, mut claimed, _removed) = Signalling::new();
    let (outbox, mut replies) = RecordingOutbox::new();
    let server = server(&outbox)
        .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .timers(timers)
        .bot(bot)
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();

    say(addr, "R", "wait").await;
    assert_eq!(next(&mut replies).await, sent("R", "waiting"));
    // The next event is accepted and held in its handler while the first timer falls due:
    // its timeout job queues behind the event, in the conversation's lane.
    say(addr, "R", "block").await;
    let first = tokio::time::timeout(GUARD, claimed.recv())
        .await
        .expect("the first timer falls due")
        .expect("a generation");
    release.notify_one();
    assert_eq!(next(&mut replies).await, sent("R", "unblocked"));
    // The event set the timer anew: the first timeout does nothing, the second fires.
    assert_eq!(next(&mut replies).await, sent("R", "timed out"));
    let second = claimed.recv().await.expect("the second timer");
    assert_ne!(first, second);
    assert!(replies.try_next().is_none(), "one timeout message");

    let admin = server.admin_addr().expect("the admin listener");
    let log = deliveries(admin, "outcome=ignored").await;
    let overtaken = &log["deliveries"][0];
    assert_eq!(overtaken["kind"], "timed_out");
    assert_eq!(overtaken["detail"], "an event came before the timeout");
    assert_eq!(overtaken["delivery_id"], format!("timeout-{first}"));
    server.shutdown().await;
}

async fn funtek_post(addr: SocketAddr, event: funtek::Event) -> serde_json::Value {
    let request = funtek::Signer::token(TOKEN).request(PATH, event);
    let answered = tcp::send(addr, request).await.expect("answered");
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    answered.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_funtek_the_timeout_goes_through_imkit_and_the_next_response_tells_the_move() {
    let mut imkit = FakeImkit::start().await;
    let env = [
        ("BOTWIRE_STORE", "memory".to_owned()),
        ("BOTWIRE_FUNTEK_TOKEN", TOKEN.to_owned()),
        ("BOTWIRE_FUNTEK_API_BASE", imkit.base()),
        ("BOTWIRE_FUNTEK_API_KEY", "im-api-key".to_owned()),
        ("BOTWIRE_ADMIN_LISTEN", "off".to_owned()),
        ("BOTWIRE_QUEUE_TIMER_POLL", "20ms".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let server = Server::from_settings(Settings::from_sources(None, env).expect("valid"))
        .expect("configured")
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .bot(echo_bot::bot_with(TEACH_TIMEOUT).expect("the sample bot"))
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();

    let taught = funtek_post(addr, funtek::message("teach").id("t-1").room("R")).await;
    assert_eq!(taught["toBotState"], "teaching");
    let sent = tokio::time::timeout(GUARD, imkit.next_message())
        .await
        .expect("the timeout goes out through IMKit");
    assert_eq!(
        (sent.room.as_str(), sent.message.as_str()),
        ("R", TIMED_OUT)
    );

    // FUNTEK still sends the state it was last told; the answer comes from idle, and says so.
    let next = funtek::message("ping")
        .id("t-2")
        .room("R")
        .state("teaching");
    let answered = funtek_post(addr, next).await;
    assert_eq!(answered["data"]["message"], "ping");
    assert_eq!(answered["toBotState"], "idle");
    // Told once: the platform's own state counts again.
    let after = funtek::message("teach").id("t-3").room("R").state("idle");
    assert_eq!(funtek_post(addr, after).await["toBotState"], "teaching");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_funtek_without_a_send_api_the_move_still_applies_before_the_next_event() {
    let (timers, mut claimed, mut removed) = Signalling::new();
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .workers(workers())
        .timers(timers)
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot_with(TEACH_TIMEOUT).expect("the sample bot"))
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();

    let taught = funtek_post(addr, funtek::message("teach").id("n-1").room("R")).await;
    assert_eq!(taught["toBotState"], "teaching");
    // The timeout is claimed and run; its message can only be logged (no send API).
    let fired = tokio::time::timeout(GUARD, claimed.recv())
        .await
        .expect("the timer falls due")
        .expect("a generation");
    let ran = tokio::time::timeout(GUARD, removed.recv())
        .await
        .expect("the timeout runs")
        .expect("a generation");
    assert_eq!(fired, ran);

    let next = funtek::message("ping => pong")
        .id("n-2")
        .room("R")
        .state("teaching");
    let answered = funtek_post(addr, next).await;
    assert_eq!(
        answered["data"]["message"], "ping => pong",
        "echoed from idle, not learned"
    );
    assert_eq!(answered["toBotState"], "idle");
    server.shutdown().await;
}
