//! Bots' conversation data on Redis: a hash per conversation, a field per key.

use async_trait::async_trait;
use botwire_core::{BoxError, ConversationData};

use crate::{RedisStore, unavailable};

impl RedisStore {
    fn data_key(&self, channel: &str, conversation: &str) -> String {
        self.key(&Self::conversation_tag(channel, conversation), "data")
    }
}

#[async_trait]
impl ConversationData for RedisStore {
    async fn get(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
    ) -> Result<Option<String>, BoxError> {
        let mut conn = self.conn.clone();
        let value: Option<String> = redis::cmd("HGET")
            .arg(self.data_key(channel, conversation))
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(value)
    }

    async fn set(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
        value: &str,
    ) -> Result<(), BoxError> {
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(self.data_key(channel, conversation))
            .arg(key)
            .arg(value)
            .query_async::<i64>(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn entries(
        &self,
        channel: &str,
        conversation: &str,
    ) -> Result<Vec<(String, String)>, BoxError> {
        let mut conn = self.conn.clone();
        let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.data_key(channel, conversation))
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut entries: Vec<(String, String)> = fields.into_iter().collect();
        entries.sort();
        Ok(entries)
    }
}

impl RedisStore {
    /// Everything bots remembered under this prefix: `(channel, conversation, key, value)`
    /// (for exports; it scans the keyspace).
    ///
    /// # Errors
    /// When Redis cannot be reached.
    pub async fn all_data(
        &self,
    ) -> Result<Vec<(String, String, String, String)>, botwire_store::StoreError> {
        let mut all = Vec::new();
        for (key, tag) in self.scan("data").await? {
            let Some((channel, conversation)) = Self::conversation_of(&tag) else {
                continue;
            };
            let mut conn = self.conn.clone();
            let fields: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            for (name, value) in fields {
                all.push((channel.clone(), conversation.clone(), name, value));
            }
        }
        all.sort();
        Ok(all)
    }
}
