//! [`EmbeddedStore`]: botwire's memory on one crash-safe file (redb), durable before anything
//! is acknowledged.
//!
//! Writes go to one writer thread. It takes every write waiting, applies them in one
//! transaction and commits once (one fsync), then answers each: deliveries that arrive
//! together share the cost of durability (group commit). A write is answered only once its
//! commit is on disk. Compare-and-swap and other read-modify-write steps run inside that
//! transaction, so they are atomic with respect to each other. Reads run in read transactions
//! of their own, beside the writer.

mod data;
mod intake;
mod ledger;
mod queue;
mod state;
mod tables;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{Database, ReadTransaction, ReadableDatabase};
use tokio::sync::{mpsc, oneshot};

use dashmap::DashMap;

use self::tables::Tables;
use crate::lanes::Lanes;
use crate::{EMBEDDED_QUEUE_CAPACITY, LedgerLimits, StoreError};

/// Memory redb keeps pages in. Its default (1 GiB) fills with the whole file as it is read at
/// open; past what the hot pages need (the ends of the answers and jobs), more buys nothing.
const CACHE_BYTES: usize = 64 << 20;

/// Writes taken into one transaction at most: bounds how long the first of them waits.
const MAX_BATCH: usize = 1024;

/// The embedded durable store. Cheap to clone; every clone shares the file and its writer.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    path: PathBuf,
    /// `None` only while dropping.
    writes: Option<mpsc::UnboundedSender<Write>>,
    writer: Option<std::thread::JoinHandle<()>>,
    /// Transactions committed so far (each one fsync).
    commits: Arc<AtomicU64>,
    /// Deliveries being worked on (in memory: see the ledger module).
    claims: DashMap<[u8; 16], ledger::InFlight>,
    /// Which deliveries the file holds an answer for, and when each expires.
    done: ledger::DoneIndex,
    next_token: AtomicU64,
    /// Done deliveries kept at most.
    ledger_capacity: usize,
    /// Which stored job may be taken next (rebuilt from the file at start): ids only, the
    /// jobs stay in the file until taken.
    lanes: Lanes<()>,
    /// Jobs queued at most for senders that retry (see [`EmbeddedOptions::queue_capacity`]).
    queue_capacity: usize,
    next_job: AtomicU64,
}

/// How much an [`EmbeddedStore`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmbeddedOptions {
    /// Done deliveries the ledger keeps at most (those that expire first go first).
    pub ledger_capacity: usize,
    /// Acknowledged via-API deliveries waiting at most (default 1,000,000); past it, `push`
    /// fails with [`StoreError::QueueFull`] (the sender retries later), and `push_kept`
    /// still queues (for a sender that never resends: what bounds it then is the disk).
    /// Waiting jobs stay in the file; memory holds their ids and lanes.
    pub queue_capacity: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            ledger_capacity: LedgerLimits::default().capacity,
            queue_capacity: EMBEDDED_QUEUE_CAPACITY,
        }
    }
}

impl EmbeddedOptions {
    /// Sets [`ledger_capacity`](Self::ledger_capacity).
    #[must_use]
    pub fn with_ledger_capacity(mut self, entries: usize) -> Self {
        self.ledger_capacity = entries;
        self
    }

    /// Sets [`queue_capacity`](Self::queue_capacity).
    #[must_use]
    pub fn with_queue_capacity(mut self, jobs: usize) -> Self {
        self.queue_capacity = jobs;
        self
    }
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

/// One write: a step applied inside the batch's transaction, and where its answer goes once
/// the transaction is committed.
struct Write {
    apply: Step,
}

/// Called with the batch's tables, or with why there are none; returns the answer to send once
/// the transaction is committed.
type Step = Box<dyn FnOnce(Result<&mut Tables<'_>, StoreError>) -> Box<dyn Answer> + Send>;

/// A write's outcome, sent once the commit it belongs to succeeded, or replaced by the commit's
/// error when it failed.
trait Answer: Send {
    fn committed(self: Box<Self>);
    fn failed(self: Box<Self>, error: StoreError);
}

struct Reply<T> {
    result: Result<T, StoreError>,
    to: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send> Answer for Reply<T> {
    fn committed(self: Box<Self>) {
        let _ = self.to.send(self.result);
    }

    fn failed(self: Box<Self>, error: StoreError) {
        let _ = self.to.send(Err(error));
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
        let done = ledger::open(&db)?;
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
    fn write<T, F>(&self, step: F) -> impl Future<Output = Result<T, StoreError>> + use<T, F>
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
    fn read(&self) -> Result<ReadTransaction, StoreError> {
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

/// The writer: one transaction per batch of waiting writes, one commit, then the answers.
fn write_loop(db: &Database, mut queue: mpsc::UnboundedReceiver<Write>, commits: &AtomicU64) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(error) => {
                tracing::error!(%error, "the store cannot begin a write transaction");
                let message = error.to_string();
                for write in batch {
                    (write.apply)(Err(unavailable(message.clone()))).committed();
                }
                continue;
            }
        };
        let answers: Vec<Box<dyn Answer>> = {
            let mut tables = Tables::new(&tx);
            batch
                .into_iter()
                .map(|w| (w.apply)(Ok(&mut tables)))
                .collect()
        };
        match tx.commit() {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                answers.into_iter().for_each(Answer::committed);
            }
            Err(error) => {
                tracing::error!(%error, "the store could not commit: {} writes failed", answers.len());
                let message = error.to_string();
                for answer in answers {
                    answer.failed(unavailable(message.clone()));
                }
            }
        }
    }
}

/// Table `table` as `tx` sees it, or `None` when nothing was ever written to it (redb creates
/// a table on its first write).
pub(crate) fn readable<K: redb::Key + 'static, V: redb::Value + 'static>(
    tx: &ReadTransaction,
    table: redb::TableDefinition<'_, K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match tx.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(unavailable(error)),
    }
}

/// A storage error as the traits report it.
pub(crate) fn unavailable(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Unavailable {
        backend: "embedded",
        source: error.into(),
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
