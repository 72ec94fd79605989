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
}
