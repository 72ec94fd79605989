//! Keys: a delivery within a channel, a conversation within a channel.

use sha2::{Digest, Sha256};

/// Identifies one delivery: the channel it came in on and the platform's delivery id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryKey<'a> {
    /// The channel name.
    pub channel: &'a str,
    /// The delivery id (per platform; see the platform adapters).
    pub id: &'a str,
}

/// Identifies one conversation: the channel and the platform's room, group or chat id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationKey<'a> {
    /// The channel name.
    pub channel: &'a str,
    /// The conversation id.
    pub conversation: &'a str,
}

impl<'a> DeliveryKey<'a> {
    /// A key for `id` on `channel`.
    pub fn new(channel: &'a str, id: &'a str) -> Self {
        Self { channel, id }
    }

    /// A fixed-size digest of the key, so that a backend can remember millions of ids in a
    /// bounded amount of memory. SHA-256 (truncated to 128 bits) rather than a fast hash: ids
    /// come from the network, and a forged collision would silence a real delivery.
    pub fn digest(&self) -> [u8; 16] {
        digest(self.channel, self.id)
    }
}

impl<'a> ConversationKey<'a> {
    /// A key for `conversation` on `channel`.
    pub fn new(channel: &'a str, conversation: &'a str) -> Self {
        Self {
            channel,
            conversation,
        }
    }

    /// A fixed-size digest of the key, as [`DeliveryKey::digest`]: for partitioning work by
    /// conversation.
    pub fn digest(&self) -> [u8; 16] {
        digest(self.channel, self.conversation)
    }
}

/// SHA-256 of the length-prefixed channel and the id, truncated to 128 bits.
fn digest(channel: &str, id: &str) -> [u8; 16] {
    let mut hasher = Sha256::new();
    hasher.update((channel.len() as u64).to_le_bytes());
    hasher.update(channel.as_bytes());
    hasher.update(id.as_bytes());
    let full = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_separates_channel_from_id() {
        // Without the length prefix "ab"+"c" and "a"+"bc" would collide.
        assert_ne!(
            DeliveryKey::new("ab", "c").digest(),
            DeliveryKey::new("a", "bc").digest()
        );
        assert_eq!(
            DeliveryKey::new("a", "b").digest(),
            DeliveryKey::new("a", "b").digest()
        );
    }
}
