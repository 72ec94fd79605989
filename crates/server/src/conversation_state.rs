//! The state a conversation is in, when botwire keeps it (every platform that does not carry
//! it in its deliveries): loaded before the bot runs, saved over the version it was loaded at.

use std::sync::Arc;

use botwire_store::{ConversationKey, StateStore, StoreError};

/// Saves `next` over version `expected`. A save that an earlier attempt already made (it died
/// after saving) finds its own result there and counts as done.
pub(crate) async fn save(
    states: &Arc<dyn StateStore>,
    key: &ConversationKey<'_>,
    next: &str,
    expected: Option<u64>,
) -> Result<u64, String> {
    match states.save(key, next, expected).await {
        Ok(version) => Ok(version),
        Err(StoreError::Conflict { actual, .. })
            if actual == Some(expected.map_or(1, |v| v + 1)) =>
        {
            match states.load(key).await {
                Ok(Some(stored)) if stored.state == next => Ok(stored.version),
                Ok(_) => Err(format!(
                    "state changed concurrently: expected version {expected:?}"
                )),
                Err(e) => Err(format!("state store: {e}")),
            }
        }
        // Only another instance can race this conversation; the retry reloads the state.
        Err(e @ StoreError::Conflict { .. }) => Err(format!("state changed concurrently: {e}")),
        Err(other) => Err(format!("state store: {other}")),
    }
}
