//! The store itself: the file, its writer, and what it keeps in memory beside the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use redb::{Database, ReadTransaction, ReadableDatabase};
use tokio::sync::{mpsc, oneshot};

use super::access::unavailable;
use super::ledger_index::{self, DoneIndex, InFlight};
use super::options::EmbeddedOptions;
use super::tables::Tables;
use super::writer::{Answer, Reply, Write, write_loop};
use crate::StoreError;
use crate::lanes::Lanes;

/// Memory redb keeps pages in. Its default (1 GiB) fills with the whole file as it is read at
/// open; past what the hot pages need (the ends of the answers and jobs), more buys nothing.
const CACHE_BYTES: usize = 64 << 20;

/// The embedded durable store. Cheap to clone; every clone shares the file and its writer.
#[derive(Clone)]
pub struct EmbeddedStore {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) db: Arc<Database>,
    pub(super) path: PathBuf,
    /// `None` only while dropping.
    pub(super) writes: Option<mpsc::UnboundedSender<Write>>,
    pub(super) writer: Option<std::thread::JoinHandle<()>>,
    /// Transactions committed so far (each one fsync).
    pub(super) commits: Arc<AtomicU64>,
    /// Deliveries being worked on (in memory: see the ledger module).
    pub(super) claims: DashMap<[u8; 16], InFlight>,
    /// Which deliveries the file holds an answer for, and when each expires.
    pub(super) done: DoneIndex,
    pub(super) next_token: AtomicU64,
    /// Done deliveries kept at most.
    pub(super) ledger_capacity: usize,
    /// Which stored job may be taken next (rebuilt from the file at start): ids only, the
    /// jobs stay in the file until taken.
    pub(super) lanes: Lanes<()>,
    /// Jobs queued at most for senders that retry (see [`EmbeddedOptions::queue_capacity`]).
    pub(super) queue_capacity: usize,
    /// Dead letters kept at most.
    pub(super) dead_letters: usize,
    pub(super) next_job: AtomicU64,
}

impl Drop for Inner {
    /// Lets the writer finish what it holds and waits for it, so the file is closed (and can be
    /// opened again) once the last handle is gone.
    fn drop(&mut self) {
        self.writes = None;
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the store's writer panicked");
        }
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`, creating its directory, with the default
    /// ledger limits.
    ///
    /// # Errors
    /// When the directory or file cannot be created, or the file is not a store (or is in use
    /// by another process).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, EmbeddedOptions::default())
    }

    /// The same, with these capacities. Jobs stored in the file are queued again, in the order
    /// they were accepted.
    ///
    /// # Errors
    /// As [`EmbeddedStore::open`], or when the stored jobs cannot be read.
    pub fn open_with(path: impl AsRef<Path>, options: EmbeddedOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let db = Arc::new(
            Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path)
                .map_err(unavailable)?,
        );
        let done = ledger_index::open(&db)?;
        let (writes, queue) = mpsc::unbounded_channel();
        let writer_db = db.clone();
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        let writer = std::thread::Builder::new()
            .name("botwire-store-writer".into())
            .spawn(move || write_loop(&writer_db, queue, &counted))
            .map_err(unavailable)?;
        let store = Self {
            inner: Arc::new(Inner {
                db,
                path,
                writes: Some(writes),
                writer: Some(writer),
                commits,
                claims: DashMap::new(),
                done,
                next_token: AtomicU64::new(1),
                ledger_capacity: options.ledger_capacity,
                // Dead letters live in the file; the memory index keeps none.
                lanes: Lanes::default(),
                queue_capacity: options.queue_capacity,
                dead_letters: options.dead_letters,
                next_job: AtomicU64::new(1),
            }),
        };
        store.recover_queue()?;
        Ok(store)
    }

    /// How many transactions the store has committed (each one fsync): with
    /// group commit, fewer than the writes it took.
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Queues `step` for the next group transaction now, and returns a future of its result
    /// once that transaction is durable.
    pub(super) fn write<T, F>(
        &self,
        step: F,
    ) -> impl Future<Output = Result<T, StoreError>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (to, answer) = oneshot::channel();
        let write = Write {
            apply: Box::new(move |tx| {
                Box::new(Reply {
                    result: tx.and_then(step),
                    to,
                }) as Box<dyn Answer>
            }),
        };
        let queued = self
            .inner
            .writes
            .as_ref()
            .and_then(|writes| writes.send(write).ok());
        async move {
            queued.ok_or_else(|| unavailable("the store's writer has stopped"))?;
            answer
                .await
                .map_err(|_| unavailable("the store's writer has stopped"))?
        }
    }

    /// A read transaction on the current committed state.
    pub(super) fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.inner.db.begin_read().map_err(unavailable)
    }
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_waiting_together_share_one_commit() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = EmbeddedStore::open(dir.path().join("s.redb")).expect("opens");
        // The first write holds the writer (once it has begun) until ten more wait behind it.
        let (began, beginning) = oneshot::channel::<()>();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let first = store.write(move |_| {
            let _ = began.send(());
            held.recv().map_err(unavailable)
        });
        let first = tokio::spawn(first);
        beginning.await.expect("the writer began the first write");
        let rest: Vec<_> = (0..10).map(|i| store.write(move |_| Ok(i))).collect();
        release.send(()).expect("the first write waits");
        first.await.expect("joined").expect("committed");
        for (i, write) in rest.into_iter().enumerate() {
            assert_eq!(write.await.expect("committed"), i);
        }
        assert_eq!(store.commits(), 2, "the first alone, then the ten together");
    }
}
