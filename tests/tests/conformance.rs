//! Every storage backend passes the same conformance suite (`botwire_testkit::conformance`).

use std::sync::atomic::{AtomicU32, Ordering};

use botwire::store::{
    EmbeddedOptions, EmbeddedStore, MemoryLedger, MemoryQueue, MemoryStateStore, MemoryTimers,
};
use botwire_testkit::conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backends_conform() {
    conformance::ledger(MemoryLedger::default).await;
    conformance::state_store(MemoryStateStore::default).await;
    conformance::conversation_data(botwire::core::MemoryData::default).await;
    conformance::queue(|capacity| MemoryQueue::new(capacity, 100)).await;
    conformance::timers(MemoryTimers::default).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_conforms() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let next = AtomicU32::new(0);
    let fresh = |capacity: usize| {
        let file = dir
            .path()
            .join(format!("{}.redb", next.fetch_add(1, Ordering::Relaxed)));
        EmbeddedStore::open_with(
            file,
            EmbeddedOptions::default().with_queue_capacity(capacity),
        )
        .expect("opens")
    };
    conformance::ledger(|| fresh(100)).await;
    conformance::state_store(|| fresh(100)).await;
    conformance::conversation_data(|| fresh(100)).await;
    conformance::queue(fresh).await;
    conformance::timers(|| fresh(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_conforms() {
    use botwire_store_redis::RedisStore;
    use botwire_testkit::redis_server::RedisServer;

    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    // Each case gets keys of its own under a fresh prefix.
    let next = AtomicU32::new(0);
    let mut stores = Vec::new();
    for _ in 0..24 {
        let prefix = format!("t{}", next.fetch_add(1, Ordering::Relaxed));
        stores.push(RedisStore::connect(&url, &prefix).await.expect("connects"));
    }
    let stores = std::sync::Mutex::new(stores);
    let fresh = || {
        stores
            .lock()
            .expect("lock")
            .pop()
            .expect("a prepared store")
    };
    conformance::ledger(fresh).await;
    conformance::state_store(fresh).await;
    conformance::conversation_data(fresh).await;
    conformance::timers(fresh).await;

    // One partition: the capacity is then the queue's, not a share of it.
    let runtime = tokio::runtime::Handle::current();
    let fresh_queue = |capacity: usize| {
        let prefix = format!("q{}", next.fetch_add(1, Ordering::Relaxed));
        let options = botwire_store_redis::RedisOptions::default()
            .with_partitions(1)
            .with_queue_capacity(capacity);
        tokio::task::block_in_place(|| {
            runtime.block_on(RedisStore::connect_with(&url, &prefix, options))
        })
        .expect("connects")
    };
    conformance::queue(fresh_queue).await;
}

#[tokio::test]
async fn two_instances_on_one_redis_run_a_delivery_once_and_answer_alike() {
    use botwire::store::{CachedResponse, Claim, DeliveryKey, Ledger};
    use botwire_store_redis::RedisStore;
    use botwire_testkit::redis_server::RedisServer;
    use std::time::Duration;

    let Some(server) = RedisServer::start() else {
        return;
    };
    let one = RedisStore::connect(&server.url(), "shared")
        .await
        .expect("connects");
    let two = RedisStore::connect(&server.url(), "shared")
        .await
        .expect("connects");
    let key = DeliveryKey::new("kamigo", "message.received:m1");
    let lease = Duration::from_secs(60);
    let Claim::New(token) = one.claim(&key, lease).await.expect("claim") else {
        panic!("the first instance claims it");
    };
    assert_eq!(
        two.claim(&key, lease).await.expect("claim"),
        Claim::InFlight
    );
    let waiting = {
        let two = two.clone();
        tokio::spawn(async move {
            two.wait(
                &DeliveryKey::new("kamigo", "message.received:m1"),
                Duration::from_secs(30),
            )
            .await
        })
    };
    let answer = CachedResponse::new(200, bytes::Bytes::from_static(br#"{"ok":true}"#));
    one.complete(&key, token, answer.clone(), Duration::from_secs(3600))
        .await
        .expect("complete");
    assert_eq!(
        waiting.await.expect("the waiter").expect("wait"),
        botwire::store::Waited::Done(answer.clone())
    );
    assert_eq!(
        two.claim(&key, lease).await.expect("claim"),
        Claim::Done(answer)
    );
    // A RedisStore prints no URL (it may carry a password).
    assert!(!format!("{one:?}").contains("127.0.0.1"));
}
