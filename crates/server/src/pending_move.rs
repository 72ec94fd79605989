//! A state timeout's move on a platform that carries the state itself (FUNTEK): the platform
//! takes a new state only in a webhook's response, so the move waits in the state store until
//! the conversation's next delivery, which then starts from it and tells the platform. The
//! store holds the state moved to, and the empty state once the platform was told.

use std::sync::Arc;

use botwire_store::{ConversationKey, StateStore, StoreError, Versioned};

/// The move waiting for the platform: the stored state and its version, when it is one (not
/// empty).
pub(crate) async fn waiting(
    states: &Arc<dyn StateStore>,
    key: &ConversationKey<'_>,
) -> Result<Option<Versioned>, StoreError> {
    Ok(states.load(key).await?.filter(is_waiting))
}

/// Whether `stored` is a move the platform was not told yet.
pub(crate) fn is_waiting(stored: &Versioned) -> bool {
    !stored.state.is_empty()
}

/// The platform was told (its response carries the state): the move is no longer waiting. A
/// move that another timeout made meanwhile (a newer version) stays.
pub(crate) async fn told(
    states: &Arc<dyn StateStore>,
    key: &ConversationKey<'_>,
    version: u64,
) -> Result<(), StoreError> {
    match states.save(key, "", Some(version)).await {
        Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use botwire_store::MemoryStateStore;

    use super::*;

    #[tokio::test]
    async fn a_move_waits_until_told_and_a_newer_one_stays() {
        let states: Arc<dyn StateStore> = Arc::new(MemoryStateStore::default());
        let key = ConversationKey::new("funtek", "room");
        assert_eq!(waiting(&states, &key).await.expect("up"), None);
        let v1 = states.save(&key, "idle", None).await.expect("saved");
        let found = waiting(&states, &key).await.expect("up").expect("waiting");
        assert_eq!((found.state.as_str(), found.version), ("idle", v1));
        told(&states, &key, v1).await.expect("told");
        assert_eq!(waiting(&states, &key).await.expect("up"), None);
        // A newer move, saved after the delivery read the older one, is not taken for told.
        let v3 = states
            .save(&key, "resting", Some(v1 + 1))
            .await
            .expect("saved");
        told(&states, &key, v1)
            .await
            .expect("a conflict is no error");
        let found = waiting(&states, &key)
            .await
            .expect("up")
            .expect("still waiting");
        assert_eq!((found.state.as_str(), found.version), ("resting", v3));
    }
}
