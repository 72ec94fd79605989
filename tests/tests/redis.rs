//! A server on Redis while Redis goes away and comes back: 503 while it is down, `/readyz`
//! follows, service resumes by itself, and nothing answered before is lost.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::{Channel, Server};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter};
use botwire_store_redis::RedisStore;
use botwire_testkit::redis_server::RedisServer;
use botwire_testkit::{TestResponse, funtek, tcp};
use http::StatusCode;

async fn post(addr: SocketAddr, event: funtek::Event) -> TestResponse {
    let request = funtek::Signer::token(TOKEN).request(PATH, event);
    tcp::send(addr, request).await.expect("answered")
}

/// Resends as a platform does (every 50 ms, 10 s at most) until a 200 comes back.
async fn resend_until_accepted<F, Fut>(mut send: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let mut resends = tokio::time::interval(Duration::from_millis(50));
    for _ in 0..200 {
        resends.tick().await;
        if send().await.status == StatusCode::OK {
            return;
        }
    }
    panic!("service did not resume after Redis came back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_gives_503_then_service_resumes_without_loss() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), "resume")
        .await
        .expect("connects");
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(2)),
        ))
        .bot(echo_bot::bot().expect("bot"))
        .ledger(store.clone())
        .state_store(store.clone())
        .data(store)
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();
    let ready = || async { tcp::get(addr, "/readyz").await.expect("answered").status };

    let before = funtek::message("before the outage");
    let answered = post(addr, before.clone()).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(ready().await, StatusCode::OK);

    redis.stop();
    let refused = post(addr, funtek::message("during the outage")).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(ready().await, StatusCode::SERVICE_UNAVAILABLE);

    redis.restart();
    // The platform resends until it is answered; the connection comes back by itself.
    resend_until_accepted(|| async { post(addr, funtek::message("after the outage")).await }).await;
    assert_eq!(ready().await, StatusCode::OK);
    // What was answered before the outage is still known: the same bytes, no second run.
    let resent = post(addr, before).await;
    assert_eq!(resent.body, answered.body);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn via_api_work_queued_when_redis_goes_away_is_done_once_after_it_returns() {
    use botwire::OutboxError;
    use botwire::platforms::auth::Secret;
    use botwire::platforms::kamigo::KamigoAdapter;
    use botwire_testkit::kamigo;
    use botwire_testkit::outbox::RecordingOutbox;
    const SECRET: &str = "kamigo-secret";
    const KAMIGO: &str = "/webhooks/kamigo";

    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&redis.url(), "via-api-outage")
        .await
        .expect("connects");
    let (outbox, mut replies) = RecordingOutbox::new();
    let adapter = KamigoAdapter::new(&[Secret::new(SECRET)]).expect("a secret");
    let workers = botwire::Workers::default()
        .with_max_attempts(10_000)
        .with_backoff(Duration::from_millis(20), Duration::from_millis(200));
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .workers(workers)
        .channel(Channel::new("kamigo", adapter).with_outbox(outbox.clone()))
        .bot(echo_bot::bot().expect("bot"))
        .ledger(store.clone())
        .state_store(store.clone())
        .queue(store.clone())
        .data(store)
        .bind()
        .await
        .expect("starts");
    let addr = server.local_addr();
    let send = |text: &str| {
        let request = kamigo::Signer::new(SECRET).request(KAMIGO, kamigo::message(text));
        async move { tcp::send(addr, request).await.expect("answered") }
    };
    let ready = || async { tcp::get(addr, "/readyz").await.expect("answered").status };

    // "one" is acknowledged, and its first send fails: it waits in the queue to be retried
    // while Redis goes away.
    outbox.fail_with([OutboxError::transient("the platform is busy")]);
    assert_eq!(send("one").await.status, StatusCode::OK);
    assert_eq!(replies.next_attempt().await.text(), Some("one"));
    redis.stop();
    let refused = send("two").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(ready().await, StatusCode::SERVICE_UNAVAILABLE);

    redis.restart();
    // Kamigo resends "two" until it is acknowledged.
    resend_until_accepted(|| send("two")).await;
    assert_eq!(send("three").await.status, StatusCode::OK);
    // Each once, in order: a second "one" or "two" would come before "three".
    for text in ["one", "two", "three"] {
        let reply = tokio::time::timeout(Duration::from_secs(30), replies.next_text()).await;
        assert_eq!(reply.expect("no job is left stuck"), text);
    }
    assert_eq!(ready().await, StatusCode::OK);
    server.shutdown().await;
}

fn job(conversation: &str, n: u32) -> botwire::store::NewJob {
    botwire::store::NewJob::new(
        "kamigo",
        conversation,
        format!("{conversation}-{n}"),
        bytes::Bytes::from(n.to_string()),
    )
}

async fn instance(url: &str) -> RedisStore {
    let options = botwire_store_redis::RedisOptions::default()
        .with_partitions(4)
        .with_lease(Duration::from_millis(300));
    RedisStore::connect_with(url, "shared-queue", options)
        .await
        .expect("connects")
}

/// The next job `store` hands out, waiting (30 s at most) for a dead or stalled instance's
/// lease to run out first.
async fn take_within_lease(store: &RedisStore) -> botwire::store::Job {
    use botwire::store::Queue;
    tokio::time::timeout(Duration::from_secs(30), store.take())
        .await
        .expect("taken over once the lease ran out")
        .expect("a job")
}

/// Takes and finishes `conversation`'s jobs numbered `numbers`, asserting they come in order.
async fn finish_in_order(
    store: &RedisStore,
    conversation: &str,
    numbers: std::ops::RangeInclusive<u32>,
) {
    use botwire::store::Queue;
    for n in numbers {
        let job = take_within_lease(store).await;
        assert_eq!(job.delivery_id, format!("{conversation}-{n}"));
        store.finish(job.id).await.expect("finished");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_of_an_instance_that_died_is_taken_over_in_order() {
    use botwire::store::Queue;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let dying = instance(&redis.url()).await;
    for n in 1..=3 {
        dying.push(job("room", n)).await.expect("queued");
    }
    let taken = dying.take().await.expect("a job");
    assert_eq!(taken.delivery_id, "room-1");
    // It dies holding room-1, unfinished.
    drop(dying);

    let survivor = instance(&redis.url()).await;
    finish_in_order(&survivor, "room", 1..=3).await;
    assert_eq!(survivor.stats().await.expect("stats").queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_pending_list_taken_over_keeps_its_order_before_new_entries() {
    use botwire::store::Queue;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // More entries pending for the dying instance than one read returns (512).
    let dying = instance(&redis.url()).await;
    for n in 1..=600 {
        dying.push(job("room", n)).await.expect("queued");
    }
    drop(dying);
    // A newer delivery arrives at the survivor before it holds the partition.
    let survivor = instance(&redis.url()).await;
    survivor.push(job("room", 601)).await.expect("queued");
    finish_in_order(&survivor, "room", 1..=601).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_stalled_past_its_lease_cannot_record_progress() {
    use botwire::store::{Queue, StoreError};
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let stalled = instance(&redis.url()).await;
    stalled.push(job("room", 1)).await.expect("queued");
    let held = take_within_lease(&stalled).await;
    // It stalls holding the job: nothing renews its lease, and another instance takes over,
    // claiming the entry still pending for the stalled one.
    let survivor = instance(&redis.url()).await;
    let again = take_within_lease(&survivor).await;
    assert_eq!(again.delivery_id, "room-1");
    assert_eq!((again.attempts, again.progress.as_ref()), (0, None));

    // The stalled instance wakes up: what its attempt did is refused, and its job is let go.
    let late = stalled
        .checkpoint(held.id, bytes::Bytes::from_static(b"late"))
        .await;
    assert!(matches!(late, Err(StoreError::ClaimLost)), "{late:?}");
    let mut failed = held;
    failed.attempts = 1;
    failed.last_error = Some("late".into());
    stalled
        .retry(failed, Duration::ZERO)
        .await
        .expect("let go without writing");

    // The survivor dies too, before finishing: a third instance finds the entry as the
    // survivor left it, not as the stalled instance wanted.
    drop(survivor);
    let third = instance(&redis.url()).await;
    let last = take_within_lease(&third).await;
    assert_eq!(last.delivery_id, "room-1");
    assert_eq!((last.attempts, last.progress.as_ref()), (0, None));
    assert_eq!(last.last_error, None);
    third
        .checkpoint(last.id, bytes::Bytes::from_static(b"mine"))
        .await
        .expect("the owner records progress");
    third.finish(last.id).await.expect("finished");
    assert_eq!(third.stats().await.expect("stats").queued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_work_one_conversation_at_once_and_keep_its_order() {
    use botwire::store::Queue;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let instances = [instance(&redis.url()).await, instance(&redis.url()).await];
    for n in 0..8 {
        for c in 0..6 {
            // Deliveries arrive at either instance.
            instances[(n + c) % 2]
                .push(job(&format!("c{c}"), n as u32))
                .await
                .expect("queued");
        }
    }
    let lanes = botwire_testkit::conformance::Lanes::default();
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for queue in &instances {
        for _ in 0..2 {
            let (queue, lanes, done_tx) = (queue.clone(), lanes.clone(), done_tx.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    lanes.work_one(&queue).await;
                    let _ = done_tx.send(());
                }
            }));
        }
    }
    for _ in 0..48 {
        tokio::time::timeout(Duration::from_secs(30), done.recv())
            .await
            .expect("every job is done")
            .expect("workers run");
    }
    for worker in workers {
        worker.abort();
    }
    for c in 0..6 {
        let conversation = format!("c{c}");
        let expected: Vec<String> = (0..8).map(|n| format!("{conversation}-{n}")).collect();
        assert_eq!(lanes.order(&conversation), expected, "{conversation}");
    }
}

/// An echo bot counting its runs per text, shared by both instances.
fn counting_echo(
    runs: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
) -> botwire::Bot {
    botwire::Bot::builder()
        .initial("idle")
        .state(
            "idle",
            botwire::handler_fn(move |_cx, event| {
                let text = event.text().unwrap_or_default().to_owned();
                *runs.lock().expect("lock").entry(text.clone()).or_default() += 1;
                async move { Ok(botwire::Reply::text(text)) }
            }),
        )
        .build()
        .expect("a valid bot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_redis_run_each_delivery_once_and_answer_alike() {
    use botwire::Settings;
    use botwire_testkit::kamigo;
    use botwire_testkit::outbox::RecordingOutbox;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    const SECRET: &str = "two-instances";
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    // One outbox for both: replies are recorded in the order they are sent, whichever
    // instance sends them (a conversation can move between instances as they share the work).
    let (outbox, mut replies) = RecordingOutbox::new();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let env = [
            ("BOTWIRE_STORE", redis.url()),
            ("BOTWIRE_REDIS_PREFIX", "two".to_owned()),
            ("BOTWIRE_FUNTEK_TOKEN", TOKEN.to_owned()),
            ("BOTWIRE_KAMIGO_SECRET", SECRET.to_owned()),
            ("BOTWIRE_ADMIN_LISTEN", "off".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v));
        let server = Server::from_settings(Settings::from_sources(None, env).expect("valid"))
            .expect("configured")
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .bot(counting_echo(runs.clone()))
            .outbox(outbox.clone())
            .bind()
            .await
            .expect("connects to Redis and starts");
        servers.push(server);
    }
    let (a, b) = (servers[0].local_addr(), servers[1].local_addr());

    // FUNTEK: the same delivery reaches both at once; one runs it, both answer alike.
    let delivery = funtek::message("both at once");
    let (one, two) = tokio::join!(post(a, delivery.clone()), post(b, delivery));
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    assert_eq!(one.body, two.body, "byte-identical answers");

    // Kamigo: every delivery reaches both at once, conversation by conversation in order.
    let send = |addr: SocketAddr, event: kamigo::Event| async move {
        let request = kamigo::Signer::new(SECRET).request("/webhooks/kamigo", event);
        tcp::send(addr, request).await.expect("answered")
    };
    let mut expected: HashMap<String, Vec<String>> = HashMap::new();
    for n in 0..5 {
        for room in ["R1", "R2", "R3"] {
            let text = format!("{room} message {n}");
            let event = kamigo::message(&text).room(room);
            let (one, two) = tokio::join!(send(a, event.clone()), send(b, event));
            assert_eq!(one.status, StatusCode::OK, "{}", one.text());
            assert_eq!(one.body, two.body, "byte-identical acknowledgements");
            expected.entry(room.to_owned()).or_default().push(text);
        }
    }
    // Every reply goes out once, from whichever instance holds the conversation, in order.
    let mut replied: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..15 {
        let reply = tokio::time::timeout(Duration::from_secs(30), replies.next())
            .await
            .expect("every reply goes out");
        replied
            .entry(reply.conversation.clone())
            .or_default()
            .push(reply.text().unwrap_or_default().to_owned());
    }
    assert!(replies.try_next().is_none(), "none twice");
    assert_eq!(replied, expected);
    let runs = runs.lock().expect("lock").clone();
    assert!(
        runs.values().all(|n| *n == 1),
        "each delivery ran once: {runs:?}"
    );
    assert_eq!(runs.len(), 16);
    for server in servers {
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_instance_gets_its_share_of_the_partitions() {
    use botwire::store::Queue;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let first = instance(&redis.url()).await;
    let waiting = {
        let first = first.clone();
        tokio::spawn(async move { first.take().await })
    };
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    while first.owned_partitions() < 4 {
        ticks.tick().await;
    }
    let second = instance(&redis.url()).await;
    let joined = {
        let second = second.clone();
        tokio::spawn(async move { second.take().await })
    };
    // Within a few leases, the first hands over half; the second takes it.
    let balanced = async {
        while (first.owned_partitions(), second.owned_partitions()) != (2, 2) {
            ticks.tick().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), balanced)
        .await
        .expect("the partitions are shared");
    // Work pushed now is done by whichever holds its partition, each job once.
    for n in 0..8 {
        second.push(job(&format!("c{n}"), 0)).await.expect("queued");
    }
    let mut done = std::collections::HashSet::new();
    let (first_job, second_job) = (waiting, joined);
    for handle in [first_job, second_job] {
        let job = tokio::time::timeout(Duration::from_secs(30), handle)
            .await
            .expect("a job")
            .expect("the task")
            .expect("taken");
        assert!(done.insert(job.delivery_id.clone()), "taken twice");
    }
    assert_eq!(done.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_racing_for_the_last_place_in_the_queue_take_it_once() {
    use botwire::store::{NewJob, Queue, StoreError};
    use bytes::Bytes;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let options = botwire_store_redis::RedisOptions::default()
        .with_partitions(1)
        .with_queue_capacity(1);
    let store = RedisStore::connect_with(&redis.url(), "last-place", options)
        .await
        .expect("connects");
    let pushes = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let job = NewJob::new("kamigo", format!("c{n}"), format!("d{n}"), Bytes::new());
            store.push(job).await
        })
    });
    let mut accepted = 0;
    for push in pushes.collect::<Vec<_>>() {
        match push.await.expect("joined") {
            Ok(_) => accepted += 1,
            Err(StoreError::QueueFull { capacity: 1 }) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(accepted, 1, "one place, one push");
    assert_eq!(store.stats().await.expect("stats").queued, 1);
}

#[tokio::test]
async fn past_its_bound_the_dead_letter_that_died_first_is_dropped() {
    use botwire::store::{NewJob, Queue};
    use bytes::Bytes;
    use redis::AsyncCommands;

    let Some(redis) = RedisServer::start() else {
        return;
    };
    let options = botwire_store_redis::RedisOptions::default().with_dead_letters(2);
    let store = RedisStore::connect_with(&redis.url(), "dead-bound", options)
        .await
        .expect("connects");
    let mut kept = Vec::new();
    for n in 0..3 {
        let job = NewJob::new("kamigo", "c", format!("d{n}"), Bytes::from_static(b"{}"));
        kept.push(store.bury_new(job, "queue_full").await.expect("kept"));
    }
    let letters = store.dead_letters().await.expect("read");
    let ids: Vec<_> = letters.iter().map(|d| d.job.id).collect();
    assert_eq!(ids, kept[1..], "the first to die went");
    assert_eq!(store.stats().await.expect("stats").dead, 2);
    // Its fields went with it: nothing is left behind in Redis.
    let client = redis::Client::open(redis.url()).expect("a client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connects");
    let first = format!("dead-bound:{{dead}}:{}", kept[0].0);
    let exists: bool = conn.exists(&first).await.expect("asked");
    assert!(!exists, "{first} was deleted");
}
