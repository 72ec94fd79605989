//! Conversation states on Redis: a hash per conversation, saved by compare-and-swap.

use std::sync::LazyLock;

use async_trait::async_trait;
use botwire_store::{ConversationKey, StateStore, StoreError, Versioned};
use redis::Script;

use crate::{RedisStore, unavailable};

/// Saves the state if the stored version is the one expected (`''`: none yet).
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'v')
if (not v and ARGV[1] == '') or (v and v == ARGV[1]) then
  local next = 1
  if v then next = tonumber(v) + 1 end
  redis.call('HSET', KEYS[1], 'v', next, 's', ARGV[2])
  return {1, next}
end
if not v then return {0, -1} end
return {0, tonumber(v)}
",
    )
});

impl RedisStore {
    fn state_key(&self, key: &ConversationKey<'_>) -> String {
        self.key(
            &Self::conversation_tag(key.channel, key.conversation),
            "state",
        )
    }
}

#[async_trait]
impl StateStore for RedisStore {
    async fn load(&self, key: &ConversationKey<'_>) -> Result<Option<Versioned>, StoreError> {
        let mut conn = self.conn.clone();
        let (version, state): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.state_key(key))
            .arg("v")
            .arg("s")
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(version
            .zip(state)
            .map(|(version, state)| Versioned { state, version }))
    }

    async fn save(
        &self,
        key: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let (saved, version): (i64, i64) = SAVE
            .key(self.state_key(key))
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(state)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let version = u64::try_from(version).ok();
        if saved == 1 {
            version.ok_or_else(|| unavailable("the save script returned no version"))
        } else {
            Err(StoreError::Conflict {
                expected,
                actual: version,
            })
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_server().await
    }
}

impl RedisStore {
    /// Every conversation's state under this prefix: `(channel, conversation, state)` (for
    /// exports; it scans the keyspace, so it is not for the request path).
    ///
    /// # Errors
    /// When Redis cannot be reached.
    pub async fn all_states(&self) -> Result<Vec<(String, String, Versioned)>, StoreError> {
        let mut all = Vec::new();
        for (_, tag) in self.scan("state").await? {
            let Some((channel, conversation)) = Self::conversation_of(&tag) else {
                continue;
            };
            let found = self
                .load(&ConversationKey::new(&channel, &conversation))
                .await?;
            if let Some(found) = found {
                all.push((channel, conversation, found));
            }
        }
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(all)
    }
}
