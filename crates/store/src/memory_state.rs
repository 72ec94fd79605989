//! An in-process [`StateStore`] on `dashmap`.

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

use crate::{ConversationKey, StateStore, StoreError, Versioned};

/// A [`StateStore`] kept in memory, forgotten on restart.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    states: DashMap<(Box<str>, Box<str>), Versioned>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn owned(key: &ConversationKey<'_>) -> (Box<str>, Box<str>) {
    (key.channel.into(), key.conversation.into())
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn load(&self, key: &ConversationKey<'_>) -> Result<Option<Versioned>, StoreError> {
        Ok(self.states.get(&owned(key)).map(|v| v.clone()))
    }

    async fn save(
        &self,
        key: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        match (self.states.entry(owned(key)), expected) {
            (Entry::Vacant(slot), None) => {
                slot.insert(Versioned {
                    state: state.to_owned(),
                    version: 1,
                });
                Ok(1)
            }
            (Entry::Occupied(mut slot), Some(version)) if slot.get().version == version => {
                let stored = slot.get_mut();
                stored.state = state.to_owned();
                stored.version += 1;
                Ok(stored.version)
            }
            (Entry::Vacant(_), Some(_)) => Err(StoreError::Conflict {
                expected,
                actual: None,
            }),
            (Entry::Occupied(slot), _) => Err(StoreError::Conflict {
                expected,
                actual: Some(slot.get().version),
            }),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn save_is_compare_and_swap() {
        let store = MemoryStateStore::new();
        let key = ConversationKey::new("ch", "room");
        assert_eq!(store.load(&key).await.unwrap(), None);
        assert_eq!(store.save(&key, "a", None).await.unwrap(), 1);
        assert!(matches!(
            store.save(&key, "b", None).await,
            Err(StoreError::Conflict {
                expected: None,
                actual: Some(1)
            })
        ));
        assert_eq!(store.save(&key, "b", Some(1)).await.unwrap(), 2);
        assert!(matches!(
            store.save(&key, "c", Some(1)).await,
            Err(StoreError::Conflict {
                expected: Some(1),
                actual: Some(2)
            })
        ));
        assert_eq!(
            store.load(&key).await.unwrap(),
            Some(Versioned {
                state: "b".into(),
                version: 2
            })
        );
        let other = ConversationKey::new("ch", "other");
        assert!(matches!(
            store.save(&other, "x", Some(3)).await,
            Err(StoreError::Conflict {
                expected: Some(3),
                actual: None
            })
        ));
        assert!(store.ping().await.is_ok());
    }
}
