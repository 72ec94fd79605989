//! redb's errors as the store traits report them, and reading a table that may not exist yet.

use redb::ReadTransaction;

use crate::StoreError;

/// Table `table` as `tx` sees it, or `None` when nothing was ever written to it (redb creates
/// a table on its first write).
pub(super) fn readable<K: redb::Key + 'static, V: redb::Value + 'static>(
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
pub(super) fn unavailable(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Unavailable {
        backend: "embedded",
        source: error.into(),
    }
}
