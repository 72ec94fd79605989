//! Where the queue lives in Redis: the key of each partition's stream, lease and hashes, of
//! the dead letters, and which partition a conversation belongs to.

use botwire_store::ConversationKey;

use crate::RedisStore;

/// The consumer group of every partition's stream.
pub(super) const GROUP: &str = "workers";

impl RedisStore {
    pub(super) fn queue_key(&self, partition: u32, name: &str) -> String {
        self.key(&format!("q{partition}"), name)
    }

    pub(super) fn dead_key(&self, name: &str) -> String {
        self.key("dead", name)
    }

    pub(super) fn partition_of(&self, channel: &str, conversation: &str) -> u32 {
        let digest = ConversationKey::new(channel, conversation).digest();
        let n = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        n % self.queue.partitions
    }
}
