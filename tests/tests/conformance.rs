//! Every storage backend passes the same conformance suite (`botwire_testkit::conformance`).

use std::sync::atomic::{AtomicU32, Ordering};

use botwire::store::{EmbeddedOptions, EmbeddedStore, MemoryLedger, MemoryQueue, MemoryStateStore};
use botwire_testkit::conformance;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_backends_conform() {
    conformance::ledger(MemoryLedger::default).await;
    conformance::state_store(MemoryStateStore::default).await;
    conformance::queue(|capacity| MemoryQueue::new(capacity, 100)).await;
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
    conformance::queue(fresh).await;
}
