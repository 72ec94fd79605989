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

    /// Everything remembered in `conversation` on `channel`, as `(key, value)` in key order:
    /// what the admin page shows of a conversation. The default says the store cannot list.
    ///
    /// # Errors
    /// When the store is unavailable, or cannot list a conversation's data.
    async fn entries(
        &self,
        channel: &str,
        conversation: &str,
    ) -> Result<Vec<(String, String)>, BoxError> {
        let _ = (channel, conversation);
        Err("this store cannot list a conversation's data".into())
    }
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

    async fn entries(
        &self,
        channel: &str,
        conversation: &str,
    ) -> Result<Vec<(String, String)>, BoxError> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries: Vec<(String, String)> = values
            .iter()
            .filter(|((c, v, _), _)| c == channel && v == conversation)
            .map(|((_, _, key), value)| (key.clone(), value.clone()))
            .collect();
        entries.sort();
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store written before listing existed: it keeps the trait's default.
    struct Unlisted;

    #[async_trait]
    impl ConversationData for Unlisted {
        async fn get(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, BoxError> {
            Ok(None)
        }
        async fn set(&self, _: &str, _: &str, _: &str, _: &str) -> Result<(), BoxError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_store_that_cannot_list_says_so() {
        let error = Unlisted
            .entries("ch", "room")
            .await
            .expect_err("no listing");
        assert!(error.to_string().contains("cannot list"), "{error}");
    }

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
        data.set("ch", "room", "a", "first").await.expect("set");
        data.set("ch", "other", "k", "elsewhere")
            .await
            .expect("set");
        assert_eq!(
            data.entries("ch", "room").await.expect("entries"),
            [("a".into(), "first".into()), ("k".into(), "w".into())],
            "this conversation's, in key order"
        );
        assert!(
            data.entries("ch", "none")
                .await
                .expect("entries")
                .is_empty()
        );
    }
}
