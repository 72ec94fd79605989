//! Conversation data in the embedded store: `channel \n conversation \n key` → value.

use async_trait::async_trait;
use botwire_core::{BoxError, ConversationData};
use redb::ReadableTable;

use super::access::{readable, unavailable};
use super::store::EmbeddedStore;
use super::tables::DATA;

fn key(channel: &str, conversation: &str, key: &str) -> String {
    format!("{channel}\n{conversation}\n{key}")
}

impl EmbeddedStore {
    /// Everything bots remembered: `(channel, conversation, key, value)`, in key order (for
    /// exports).
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn all_data(&self) -> Result<Vec<(String, String, String, String)>, crate::StoreError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, DATA)? else {
            return Ok(Vec::new());
        };
        let mut all = Vec::new();
        for entry in table.iter().map_err(unavailable)? {
            let (key, value) = entry.map_err(unavailable)?;
            let mut parts = key.value().splitn(3, '\n');
            let (Some(channel), Some(conversation), Some(name)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            all.push((
                channel.to_owned(),
                conversation.to_owned(),
                name.to_owned(),
                value.value().to_owned(),
            ));
        }
        Ok(all)
    }
}

#[async_trait]
impl ConversationData for EmbeddedStore {
    async fn get(
        &self,
        channel: &str,
        conversation: &str,
        name: &str,
    ) -> Result<Option<String>, BoxError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, DATA)? else {
            return Ok(None);
        };
        let found = table
            .get(key(channel, conversation, name).as_str())
            .map_err(unavailable)?;
        Ok(found.map(|value| value.value().to_owned()))
    }

    async fn set(
        &self,
        channel: &str,
        conversation: &str,
        name: &str,
        value: &str,
    ) -> Result<(), BoxError> {
        let key = key(channel, conversation, name);
        let value = value.to_owned();
        self.write(move |tables| {
            tables
                .data()?
                .insert(key.as_str(), value.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn entries(
        &self,
        channel: &str,
        conversation: &str,
    ) -> Result<Vec<(String, String)>, BoxError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, DATA)? else {
            return Ok(Vec::new());
        };
        // The conversation's keys sort together: from `channel\nconversation\n` up to the
        // same prefix ending in the character after the newline.
        let from = key(channel, conversation, "");
        let to = format!("{channel}\n{conversation}\u{b}");
        let mut entries = Vec::new();
        for entry in table
            .range(from.as_str()..to.as_str())
            .map_err(unavailable)?
        {
            let (key, value) = entry.map_err(unavailable)?;
            let name = key.value()[from.len()..].to_owned();
            entries.push((name, value.value().to_owned()));
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn data_is_scoped_and_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("data.redb");
        {
            let store = EmbeddedStore::open(&path).expect("opens");
            assert_eq!(
                store.get("ch", "room", "answer:ping").await.expect("get"),
                None
            );
            store
                .set("ch", "room", "answer:ping", "pong")
                .await
                .expect("set");
        }
        let store = EmbeddedStore::open(&path).expect("opens again");
        assert_eq!(
            store
                .get("ch", "room", "answer:ping")
                .await
                .expect("get")
                .as_deref(),
            Some("pong")
        );
        assert_eq!(
            store.get("ch", "other", "answer:ping").await.expect("get"),
            None
        );
    }

    #[tokio::test]
    async fn entries_are_one_conversations_in_key_order() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = EmbeddedStore::open(dir.path().join("data.redb")).expect("opens");
        assert!(
            store
                .entries("ch", "room")
                .await
                .expect("entries")
                .is_empty()
        );
        for (conversation, name, value) in [
            ("room", "b", "2"),
            ("room", "a", "1"),
            // Neighbours in key order that are not this conversation's.
            ("roo", "x", "no"),
            ("room2", "x", "no"),
            ("room\u{b}", "x", "no"),
        ] {
            store
                .set("ch", conversation, name, value)
                .await
                .expect("set");
        }
        store.set("other", "room", "z", "no").await.expect("set");
        assert_eq!(
            store.entries("ch", "room").await.expect("entries"),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }
}
