//! Conversation states in the embedded store: one table, `channel \n conversation` →
//! (version, state), saved with compare-and-swap inside the writer's transaction.

use async_trait::async_trait;
use redb::ReadableTable;

use super::access::{readable, unavailable};
use super::store::EmbeddedStore;
use super::tables::STATES;
use crate::{ConversationKey, StateStore, StoreError, Versioned};

fn key(key: &ConversationKey<'_>) -> String {
    format!("{}\n{}", key.channel, key.conversation)
}

impl EmbeddedStore {
    /// Every conversation's state: `(channel, conversation, state)`, in key order (for
    /// exports).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn all_states(&self) -> Result<Vec<(String, String, Versioned)>, StoreError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, STATES)? else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let (version, state) = value.value();
            let (channel, conversation) = key.value().split_once('\n').unwrap_or(("", ""));
            all.push((
                channel.to_owned(),
                conversation.to_owned(),
                Versioned {
                    state: state.to_owned(),
                    version,
                },
            ));
        }
        Ok(all)
    }
}

#[async_trait]
impl StateStore for EmbeddedStore {
    async fn load(
        &self,
        conversation: &ConversationKey<'_>,
    ) -> Result<Option<Versioned>, StoreError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, STATES)? else {
            return Ok(None);
        };
        let found = table.get(key(conversation).as_str()).map_err(unavailable)?;
        Ok(found.map(|entry| {
            let (version, state) = entry.value();
            Versioned {
                state: state.to_owned(),
                version,
            }
        }))
    }

    async fn save(
        &self,
        conversation: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let key = key(conversation);
        let state = state.to_owned();
        self.write(move |tables| {
            let table = tables.states()?;
            let actual = table
                .get(key.as_str())
                .map_err(unavailable)?
                .map(|entry| entry.value().0);
            if actual != expected {
                return Err(StoreError::Conflict { expected, actual });
            }
            let version = actual.map_or(1, |v| v + 1);
            table
                .insert(key.as_str(), (version, state.as_str()))
                .map_err(unavailable)?;
            Ok(version)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir) -> EmbeddedStore {
        EmbeddedStore::open(dir.path().join("botwire.redb")).expect("opens")
    }

    #[tokio::test]
    async fn save_is_compare_and_swap_and_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let key = ConversationKey::new("kamigo", "C1");
        {
            let states = store(&dir);
            assert_eq!(states.load(&key).await.expect("up"), None);
            assert_eq!(states.save(&key, "teaching", None).await.expect("new"), 1);
            let stale = states.save(&key, "idle", None).await.unwrap_err();
            assert!(matches!(
                stale,
                StoreError::Conflict {
                    expected: None,
                    actual: Some(1)
                }
            ));
            assert_eq!(states.save(&key, "idle", Some(1)).await.expect("cas"), 2);
        }
        let reopened = store(&dir);
        assert_eq!(
            reopened.load(&key).await.expect("up"),
            Some(Versioned {
                state: "idle".into(),
                version: 2
            })
        );
        let other = ConversationKey::new("kamigo", "C2");
        assert_eq!(reopened.load(&other).await.expect("up"), None);
        reopened.ping().await.expect("ready");
    }
}
