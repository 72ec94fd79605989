//! What a bot remembers between deliveries: a small key-value store per conversation, kept by
//! the server's store, so that it lives as long as the conversation's state does (in memory, or
//! on disk with the embedded store). Handlers reach it through [`Context::recall`] and
//! [`Context::remember`](crate::Context::remember).
//!
//! [`Context::recall`]: crate::Context::recall

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::BoxError;

/// A key-value store scoped to a channel's conversation.
#[async_trait]
pub trait ConversationData: Send + Sync + 'static {
    /// The value of `key` in `conversation` on `channel`, if one was set.
    ///
    /// # Errors
    /// When the store is unavailable.
    async fn get(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
    ) -> Result<Option<String>, BoxError>;

    /// Sets `key` to `value`. A durable store has it on disk before this returns.
    ///
    /// # Errors
    /// When the store is unavailable.
    async fn set(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
        value: &str,
    ) -> Result<(), BoxError>;
}

/// Conversation data in process: forgotten on restart.
#[derive(Debug, Default)]
pub struct MemoryData {
    values: Mutex<HashMap<(String, String, String), String>>,
}

#[async_trait]
impl ConversationData for MemoryData {
    async fn get(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
    ) -> Result<Option<String>, BoxError> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let key = (channel.to_owned(), conversation.to_owned(), key.to_owned());
        Ok(values.get(&key).cloned())
    }

    async fn set(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
        value: &str,
    ) -> Result<(), BoxError> {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let key = (channel.to_owned(), conversation.to_owned(), key.to_owned());
        values.insert(key, value.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_are_scoped_by_channel_and_conversation() {
        let data = MemoryData::default();
        data.set("ch", "room", "k", "v").await.expect("set");
        assert_eq!(
            data.get("ch", "room", "k").await.expect("get").as_deref(),
            Some("v")
        );
        assert_eq!(data.get("ch", "other", "k").await.expect("get"), None);
        assert_eq!(data.get("other", "room", "k").await.expect("get"), None);
        data.set("ch", "room", "k", "w").await.expect("set");
        assert_eq!(
            data.get("ch", "room", "k").await.expect("get").as_deref(),
            Some("w")
        );
    }
}
