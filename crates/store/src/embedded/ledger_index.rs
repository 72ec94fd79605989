//! What the ledger keeps in memory beside the file: the claims in flight (never written: after
//! a restart nothing can be in flight) and which digests are done, with when they expire, read
//! back from the file when it is opened.

use std::sync::Arc;

use dashmap::DashMap;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::access::{readable, unavailable};
use super::tables::ANSWERS;
use crate::StoreError;

/// A delivery key's digest.
pub(super) type Digest = [u8; 16];

/// The layout of earlier builds, keyed by digest: moved into [`ANSWERS`] at open.
pub(super) const OLD_LEDGER: TableDefinition<'_, &[u8], (u64, u16, &[u8])> =
    TableDefinition::new("ledger");
pub(super) const OLD_EXPIRY: TableDefinition<'_, (u64, &[u8]), ()> =
    TableDefinition::new("ledger_expiry");

/// Done digests and when they expire: what the file holds, as of the last commit.
pub(super) type DoneIndex = DashMap<Digest, u64>;

/// A claim being worked on.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) token: u64,
    pub(super) lease_until: Instant,
    pub(super) ended: Arc<Notify>,
}

/// Readies the ledger of a store file being opened (before its writer starts): moves answers
/// kept in the layout of earlier builds, then reads which digests are done.
pub(super) fn open(db: &Database) -> Result<DoneIndex, StoreError> {
    migrate(db)?;
    let tx = db.begin_read().map_err(unavailable)?;
    let index = DoneIndex::new();
    if let Some(answers) = readable(&tx, ANSWERS)? {
        for entry in answers.iter().map_err(unavailable)? {
            let (key, _) = entry.map_err(unavailable)?;
            let (expires, digest) = key.value();
            if let Ok(digest) = Digest::try_from(digest) {
                index.insert(digest, expires);
            }
        }
    }
    Ok(index)
}

fn migrate(db: &Database) -> Result<(), StoreError> {
    let tx = db.begin_write().map_err(unavailable)?;
    let exists = tx
        .list_tables()
        .map_err(unavailable)?
        .any(|table| table.name() == OLD_LEDGER.name());
    if !exists {
        return Ok(());
    }
    let mut moved = 0_u64;
    {
        let old = tx.open_table(OLD_LEDGER).map_err(unavailable)?;
        let mut answers = tx.open_table(ANSWERS).map_err(unavailable)?;
        for entry in old.iter().map_err(unavailable)? {
            let (digest, value) = entry.map_err(unavailable)?;
            let (expires, status, body) = value.value();
            answers
                .insert((expires, digest.value()), (status, body))
                .map_err(unavailable)?;
            moved += 1;
        }
    }
    tx.delete_table(OLD_LEDGER).map_err(unavailable)?;
    tx.delete_table(OLD_EXPIRY).map_err(unavailable)?;
    tx.commit().map_err(unavailable)?;
    tracing::info!(
        moved,
        "the ledger's answers were moved to the current layout"
    );
    Ok(())
}
