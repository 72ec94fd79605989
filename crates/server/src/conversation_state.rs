//! The state a conversation is in, when botwire keeps it (every platform that does not carry
//! it in its deliveries): loaded before the bot runs, saved over the version it was loaded at.

use std::sync::Arc;

use botwire_store::{ConversationKey, StateStore, StoreError};

/// Why a new state was not saved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SaveError {
    /// Another instance moved the conversation since its state was loaded; the retry reloads.
    #[error("state changed concurrently: expected version {expected:?}")]
    Raced {
        /// The version the state was loaded at.
        expected: Option<u64>,
    },
    /// The store refused the version.
    #[error("state changed concurrently: {0}")]
    Conflict(#[source] StoreError),
    /// The store failed.
    #[error("state store: {0}")]
    Store(#[source] StoreError),
}

/// Saves `next` over version `expected`. A save that an earlier attempt already made (it died
/// after saving) finds its own result there and counts as done.
pub(crate) async fn save(
    states: &Arc<dyn StateStore>,
    key: &ConversationKey<'_>,
    next: &str,
    expected: Option<u64>,
) -> Result<u64, SaveError> {
    match states.save(key, next, expected).await {
        Ok(version) => Ok(version),
        Err(StoreError::Conflict { actual, .. })
            if actual == Some(expected.map_or(1, |v| v + 1)) =>
        {
            match states.load(key).await {
                Ok(Some(stored)) if stored.state == next => Ok(stored.version),
                Ok(_) => Err(SaveError::Raced { expected }),
                Err(e) => Err(SaveError::Store(e)),
            }
        }
        // Only another instance can race this conversation; the retry reloads the state.
        Err(e @ StoreError::Conflict { .. }) => Err(SaveError::Conflict(e)),
        Err(other) => Err(SaveError::Store(other)),
    }
}
