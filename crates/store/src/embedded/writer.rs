//! The store's one writer thread: it takes every write waiting, applies them in one
//! transaction and commits once (one fsync), then answers each, so deliveries that arrive
//! together share the cost of durability (group commit).

use std::sync::atomic::{AtomicU64, Ordering};

use redb::Database;
use tokio::sync::{mpsc, oneshot};

use super::access::unavailable;
use super::tables::Tables;
use crate::StoreError;

/// Writes taken into one transaction at most: bounds how long the first of them waits.
const MAX_BATCH: usize = 1024;

/// One write: a step applied inside the batch's transaction, and where its answer goes once
/// the transaction is committed.
pub(super) struct Write {
    pub(super) apply: Step,
}

/// Called with the batch's tables, or with why there are none; returns the answer to send once
/// the transaction is committed.
pub(super) type Step =
    Box<dyn FnOnce(Result<&mut Tables<'_>, StoreError>) -> Box<dyn Answer> + Send>;

/// A write's outcome, sent once the commit it belongs to succeeded, or replaced by the commit's
/// error when it failed.
pub(super) trait Answer: Send {
    fn committed(self: Box<Self>);
    fn failed(self: Box<Self>, error: StoreError);
}

pub(super) struct Reply<T> {
    pub(super) result: Result<T, StoreError>,
    pub(super) to: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send> Answer for Reply<T> {
    fn committed(self: Box<Self>) {
        let _ = self.to.send(self.result);
    }

    fn failed(self: Box<Self>, error: StoreError) {
        let _ = self.to.send(Err(error));
    }
}

/// The writer: one transaction per batch of waiting writes, one commit, then the answers.
pub(super) fn write_loop(
    db: &Database,
    mut queue: mpsc::UnboundedReceiver<Write>,
    commits: &AtomicU64,
) {
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
