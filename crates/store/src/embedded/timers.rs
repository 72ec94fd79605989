//! State timers in the embedded store: one table by conversation, one by due time, changed
//! together inside the writer's transaction.

use std::time::SystemTime;

use async_trait::async_trait;
use redb::ReadableTable;

use super::access::{readable, unavailable};
use super::store::EmbeddedStore;
use super::tables::{TIMERS, TIMERS_DUE, Tables};
use crate::{ConversationKey, DueTimer, StoreError, Timer, Timers, epoch_ms, from_epoch_ms};

fn key(key: &ConversationKey<'_>) -> String {
    format!("{}\n{}", key.channel, key.conversation)
}

/// Drops the conversation's timer from both tables; its generation, if it had one.
fn take(tables: &mut Tables<'_>, key: &str) -> Result<Option<u64>, StoreError> {
    let Some((generation, due)) = tables
        .timers()?
        .remove(key)
        .map_err(unavailable)?
        .map(|old| {
            let (generation, due, _, _) = old.value();
            (generation, due)
        })
    else {
        return Ok(None);
    };
    tables
        .timers_due()?
        .remove((due, key))
        .map_err(unavailable)?;
    Ok(Some(generation))
}

#[async_trait]
impl Timers for EmbeddedStore {
    async fn set(
        &self,
        conversation: &ConversationKey<'_>,
        timer: &Timer,
    ) -> Result<(), StoreError> {
        let key = key(conversation);
        let timer = timer.clone();
        self.write(move |tables| {
            take(tables, &key)?;
            let due = epoch_ms(timer.due_at);
            tables
                .timers()?
                .insert(
                    key.as_str(),
                    (timer.generation, due, 0, timer.state.as_str()),
                )
                .map_err(unavailable)?;
            tables
                .timers_due()?
                .insert((due, key.as_str()), ())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn get(&self, conversation: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, TIMERS)? else {
            return Ok(None);
        };
        let found = table.get(key(conversation).as_str()).map_err(unavailable)?;
        Ok(found.map(|entry| {
            let (generation, due, _, state) = entry.value();
            Timer {
                state: state.to_owned(),
                due_at: from_epoch_ms(due),
                generation,
            }
        }))
    }

    async fn remove(
        &self,
        conversation: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let key = key(conversation);
        self.write(move |tables| {
            let current = tables
                .timers()?
                .get(key.as_str())
                .map_err(unavailable)?
                .map(|entry| entry.value().0);
            match current {
                Some(found) if generation.is_none_or(|g| g == found) => {
                    Ok(take(tables, &key)?.is_some())
                }
                _ => Ok(false),
            }
        })
        .await
    }

    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let tx = self.read()?;
        let (Some(by_due), Some(timers)) = (readable(&tx, TIMERS_DUE)?, readable(&tx, TIMERS)?)
        else {
            return Ok(Vec::new());
        };
        let now = epoch_ms(now);
        let mut due = Vec::new();
        // Everything due at `now` sorts before (now + 1 ms, "").
        for entry in by_due
            .range(..(now.saturating_add(1), ""))
            .map_err(unavailable)?
        {
            if due.len() == limit {
                break;
            }
            let (when, _) = entry.map_err(unavailable)?;
            let (_, key) = when.value();
            let Some(found) = timers.get(key).map_err(unavailable)? else {
                continue;
            };
            let (generation, due_ms, claimed_until, state) = found.value();
            if claimed_until > now {
                continue;
            }
            let (channel, conversation) = key.split_once('\n').unwrap_or((key, ""));
            let timer = Timer {
                state: state.to_owned(),
                due_at: from_epoch_ms(due_ms),
                generation,
            };
            due.push(DueTimer::new(channel, conversation, timer));
        }
        Ok(due)
    }

    async fn claim(
        &self,
        conversation: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let key = key(conversation);
        let (now, until) = (epoch_ms(now), epoch_ms(until));
        self.write(move |tables| {
            let table = tables.timers()?;
            let Some((found, due, claimed_until, state)) =
                table.get(key.as_str()).map_err(unavailable)?.map(|entry| {
                    let (found, due, claimed, state) = entry.value();
                    (found, due, claimed, state.to_owned())
                })
            else {
                return Ok(false);
            };
            if found != generation || claimed_until > now {
                return Ok(false);
            }
            table
                .insert(key.as_str(), (found, due, until, state.as_str()))
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_timer_survives_a_reopen_with_its_claim() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("timers.redb");
        let room = ConversationKey::new("kamigo", "C1");
        let due_at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000);
        let timer = Timer {
            state: "teaching".into(),
            due_at,
            generation: 7,
        };
        {
            let store = EmbeddedStore::open(&path).expect("opens");
            store.set(&room, &timer).await.expect("set");
            let later = due_at + Duration::from_secs(60);
            assert!(store.claim(&room, 7, due_at, later).await.expect("claim"));
        }
        let store = EmbeddedStore::open(&path).expect("opens again");
        assert_eq!(store.get(&room).await.expect("get"), Some(timer));
        assert!(
            store.due(due_at, 10).await.expect("due").is_empty(),
            "still claimed"
        );
        let later = due_at + Duration::from_secs(60);
        assert_eq!(store.due(later, 10).await.expect("due").len(), 1);
    }
}
