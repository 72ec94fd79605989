//! Micro-benchmarks of the hot path: verify and parse per platform, the ledger's claim and
//! complete per backend, the bot's dispatch, and rendering a reply.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::{Adapter, Verified};
use botwire::store::{CachedResponse, Claim, DeliveryKey, EmbeddedStore, Ledger, MemoryLedger};
use botwire::{Context, ContextParts, Reply};
use botwire_bench::signed_samples;
use botwire_testkit::funtek;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};

fn verify_and_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify+parse");
    for sample in signed_samples() {
        group.bench_function(sample.platform, |b| {
            b.iter(|| {
                let verified =
                    Verified::check(&*sample.adapter, &sample.parts, sample.body.clone())
                        .expect("verified");
                std::hint::black_box(sample.adapter.parse(verified).expect("parsed"));
            });
        });
    }
    group.finish();
}

/// Claims and completes a fresh delivery id each iteration.
async fn claim_complete<L: Ledger>(ledger: &L, next: &AtomicU64) {
    let id = next.fetch_add(1, Ordering::Relaxed).to_string();
    let key = DeliveryKey::new("bench", &id);
    let Ok(Claim::New(token)) = ledger.claim(&key, Duration::from_secs(30)).await else {
        panic!("a fresh id is new");
    };
    let answer = CachedResponse::new(200, Bytes::from_static(br#"{"ok":true}"#));
    ledger
        .complete(&key, token, answer, Duration::from_secs(3600))
        .await
        .expect("completed");
}

fn ledger(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("ledger claim+complete");
    let next = AtomicU64::new(0);
    let memory = MemoryLedger::default();
    group.bench_function("memory", |b| {
        b.to_async(&runtime).iter(|| claim_complete(&memory, &next));
    });
    // One commit (fsync) per delivery here: nothing else is waiting to share it.
    let dir = tempfile::tempdir().expect("a temp dir");
    let embedded = EmbeddedStore::open(dir.path().join("bench.redb")).expect("opens");
    group.sample_size(20);
    group.bench_function("embedded, one at a time", |b| {
        b.to_async(&runtime)
            .iter(|| claim_complete(&embedded, &next));
    });
    // 64 deliveries at once share commits (group commit): the time is per delivery.
    group.bench_function("embedded, 64 at once (per delivery)", |b| {
        b.to_async(&runtime).iter_custom(|rounds| {
            let embedded = embedded.clone();
            let next = &next;
            async move {
                let started = Instant::now();
                for _ in 0..rounds {
                    let batch: Vec<_> = (0..64).map(|_| claim_complete(&embedded, next)).collect();
                    futures_util::future::join_all(batch).await;
                }
                started.elapsed() / 64
            }
        });
    });
    group.finish();
}

/// The Redis ledger, against a redis-server of the bench's own (skipped without one).
fn redis_ledger(c: &mut Criterion) {
    let Some(redis) = botwire_testkit::redis_server::RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let store = runtime
        .block_on(botwire_store_redis::RedisStore::connect(
            &redis.url(),
            "micro",
        ))
        .expect("connects");
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("ledger claim+complete");
    group.bench_function("redis, one at a time (loopback, fsync always)", |b| {
        b.to_async(&runtime).iter(|| claim_complete(&store, &next));
    });
    group.bench_function("redis, 64 at once (per delivery)", |b| {
        b.to_async(&runtime).iter_custom(|rounds| {
            let store = store.clone();
            let next = &next;
            async move {
                let started = Instant::now();
                for _ in 0..rounds {
                    let batch: Vec<_> = (0..64).map(|_| claim_complete(&store, next)).collect();
                    futures_util::future::join_all(batch).await;
                }
                started.elapsed() / 64
            }
        });
    });
    group.finish();
}

fn dispatch_and_render(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let bot = echo_bot::bot().expect("the sample bot");
    let adapter = FuntekAdapter::builder()
        .token("t")
        .build()
        .expect("a token");
    let parsed = adapter
        .parse(Verified::stored(funtek::message("hello there").body()))
        .expect("parsed");
    let botwire::platforms::Parsed::Event(inbound) = parsed else {
        panic!("a message");
    };
    let cx = Context::from_parts(ContextParts {
        platform: "funtek",
        channel: "funtek".into(),
        conversation: "room".into(),
        delivery_id: "id".into(),
        state: "idle".into(),
        deadline: std::time::Instant::now() + Duration::from_secs(5),
    });
    c.bench_function("Bot::dispatch (sample bot, echo)", |b| {
        b.to_async(&runtime)
            .iter(|| async { std::hint::black_box(bot.dispatch(&cx, &inbound.event).await) });
    });
    let reply = Reply::text("hello there").goto("teaching");
    c.bench_function("render a FUNTEK reply", |b| {
        b.iter(|| std::hint::black_box(adapter.render(&reply, Some("teaching"))));
    });
}

criterion_group!(
    benches,
    verify_and_parse,
    ledger,
    redis_ledger,
    dispatch_and_render
);
criterion_main!(benches);
