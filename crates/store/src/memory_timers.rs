//! In-process [`Timers`]: a map by conversation and an index by due time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::timers::epoch_ms;
use crate::{ConversationKey, DueTimer, StoreError, Timer, Timers};

type Conversation = (String, String);

/// [`Timers`] kept in memory, forgotten on restart.
#[derive(Debug, Default)]
pub struct MemoryTimers {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    timers: HashMap<Conversation, (Timer, Option<SystemTime>)>,
    /// (due at in ms, conversation), so that `due` reads only what is due.
    by_due: BTreeSet<(u64, Conversation)>,
}

impl MemoryTimers {
    /// No timers.
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn owned(key: &ConversationKey<'_>) -> Conversation {
    (key.channel.to_owned(), key.conversation.to_owned())
}

impl Inner {
    fn take(&mut self, key: &Conversation) -> Option<(Timer, Option<SystemTime>)> {
        let found = self.timers.remove(key)?;
        self.by_due.remove(&(epoch_ms(found.0.due_at), key.clone()));
        Some(found)
    }
}

#[async_trait]
impl Timers for MemoryTimers {
    async fn set(&self, key: &ConversationKey<'_>, timer: &Timer) -> Result<(), StoreError> {
        let key = owned(key);
        let mut inner = self.inner();
        inner.take(&key);
        inner.by_due.insert((epoch_ms(timer.due_at), key.clone()));
        inner.timers.insert(key, (timer.clone(), None));
        Ok(())
    }

    async fn get(&self, key: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError> {
        Ok(self.inner().timers.get(&owned(key)).map(|(t, _)| t.clone()))
    }

    async fn remove(
        &self,
        key: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let key = owned(key);
        let mut inner = self.inner();
        let matches = inner
            .timers
            .get(&key)
            .is_some_and(|(t, _)| generation.is_none_or(|g| g == t.generation));
        Ok(matches && inner.take(&key).is_some())
    }

    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let inner = self.inner();
        let now_ms = epoch_ms(now);
        Ok(inner
            .by_due
            .iter()
            .take_while(|(due, _)| *due <= now_ms)
            .filter_map(|(_, key)| {
                let (timer, claimed) = inner.timers.get(key)?;
                let free = claimed.is_none_or(|until| until <= now);
                free.then(|| DueTimer::new(&key.0, &key.1, timer.clone()))
            })
            .take(limit)
            .collect())
    }

    async fn claim(
        &self,
        key: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut inner = self.inner();
        let Some((timer, claimed)) = inner.timers.get_mut(&owned(key)) else {
            return Ok(false);
        };
        if timer.generation != generation || claimed.is_some_and(|held| held > now) {
            return Ok(false);
        }
        *claimed = Some(until);
        Ok(true)
    }
}
