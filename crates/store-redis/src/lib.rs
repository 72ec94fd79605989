//! botwire's stores on Redis (or Valkey), for several instances sharing one server.
//!
//! [`RedisStore`] implements the delivery [`Ledger`](botwire_store::Ledger), the
//! [`StateStore`](botwire_store::StateStore), the [`Timers`](botwire_store::Timers) and bots'
//! [`ConversationData`](botwire_core::ConversationData). Every atomic step is one Lua script on
//! one key, so two instances that receive the same delivery run it once and both answer with
//! the first one's bytes, and a state is saved by compare-and-swap on its version.
//!
//! # Key layout
//!
//! The via-API queue's keys are described in the queue module's documentation
//! (streams per partition, leases, dead letters).
//!
//! Every key starts with the deployment's prefix (default `botwire`) and carries a hash tag,
//! so each script touches one slot (Redis Cluster works):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<prefix>:{<digest>}:delivery` | hash | `s` = `F` (in flight, `t` = claim token; expires with the lease) or `D` (done: `c` status, `b` body; expires with the TTL) |
//! | `<prefix>:{<conversation>}:state` | hash | `v` version, `s` state |
//! | `<prefix>:{<conversation>}:data` | hash | one field per key a bot remembered |
//! | `<prefix>:{timers}:generation`, `…:claim`, `…:state` | hashes | each conversation's timer (field `channel \n conversation`): its generation, the claim's end (ms), the state it times out of |
//! | `<prefix>:{timers}:due` | sorted set | the same fields, scored by when they fall due (ms) |
//!
//! `<digest>` is the hex of the delivery key's 16-byte digest; `<conversation>` is the hex of
//! `channel \n conversation`. Done deliveries expire by themselves; bound memory with Redis's
//! own `maxmemory` (`volatile-ttl` drops the entries nearest their end first).

mod data;
mod ledger;
mod queue;
mod state;
mod timers;

use std::sync::Arc;

use botwire_store::{DEFAULT_CAPACITY, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The stores on one Redis server. Cheap to clone: clones share one reconnecting connection.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    queue: Arc<queue::QueueState>,
}

/// How a [`RedisStore`] spreads and bounds the via-API queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Partitions of the queue (1 to 63, default 16): each belongs to one instance at a time,
    /// so more partitions spread conversations over more instances.
    pub partitions: u32,
    /// Acknowledged deliveries waiting at most (spread evenly over the partitions).
    pub queue_capacity: usize,
    /// How long a partition stays an instance's after its last renewal (default 10 s): how
    /// soon another instance takes over the work of one that died.
    pub lease: std::time::Duration,
    /// Dead letters kept at most (default 10,000), across instances; past it, the one that
    /// died first is dropped, with a warning naming it.
    pub dead_letters: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            partitions: 16,
            queue_capacity: DEFAULT_CAPACITY,
            lease: std::time::Duration::from_secs(10),
            dead_letters: botwire_store::DEFAULT_DEAD_LETTERS,
        }
    }
}

impl RedisOptions {
    /// Sets [`partitions`](Self::partitions).
    #[must_use]
    pub fn with_partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets [`lease`](Self::lease).
    #[must_use]
    pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`dead_letters`](Self::dead_letters).
    #[must_use]
    pub fn with_dead_letters(mut self, letters: usize) -> Self {
        self.dead_letters = letters;
        self
    }

    /// Sets [`queue_capacity`](Self::queue_capacity).
    #[must_use]
    pub fn with_queue_capacity(mut self, jobs: usize) -> Self {
        self.queue_capacity = jobs;
        self
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, or `rediss://` for TLS), with keys under
    /// `prefix`.
    ///
    /// # Errors
    /// When the URL is malformed or the server cannot be reached.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, prefix, RedisOptions::default()).await
    }

    /// The same, with these queue settings.
    ///
    /// # Errors
    /// As [`RedisStore::connect`].
    pub async fn connect_with(
        url: &str,
        prefix: &str,
        options: RedisOptions,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        // Reconnect attempts back off to one second at most: when Redis comes back, service
        // resumes within about a second (the default backoff grows to many seconds).
        let config = ConnectionManagerConfig::new()
            .set_max_delay(std::time::Duration::from_secs(1))
            .set_connection_timeout(Some(std::time::Duration::from_secs(2)));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            queue: Arc::new(queue::QueueState::new(&options)),
        })
    }

    /// The key of `name` for the hash tag `tag`.
    fn key(&self, tag: &str, name: &str) -> String {
        format!("{}:{{{tag}}}:{name}", self.prefix)
    }

    /// The hash tag of a conversation.
    fn conversation_tag(channel: &str, conversation: &str) -> String {
        let mut raw = Vec::with_capacity(channel.len() + conversation.len() + 1);
        raw.extend_from_slice(channel.as_bytes());
        raw.push(b'\n');
        raw.extend_from_slice(conversation.as_bytes());
        hex::encode(raw)
    }

    /// The channel and conversation of a conversation hash tag.
    fn conversation_of(tag: &str) -> Option<(String, String)> {
        let raw = String::from_utf8(hex::decode(tag).ok()?).ok()?;
        let (channel, conversation) = raw.split_once('\n')?;
        Some((channel.to_owned(), conversation.to_owned()))
    }

    /// Every key `<prefix>:{<tag>}:<name>`, with its tag.
    async fn scan(&self, name: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:{{*}}:{name}", self.prefix);
        let mut cursor = 0u64;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            for key in keys {
                let tag = key
                    .split_once('{')
                    .and_then(|(_, rest)| rest.split_once('}'))
                    .map(|(tag, _)| tag.to_owned());
                if let Some(tag) = tag {
                    found.push((key, tag));
                }
            }
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    async fn ping_server(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: it is not kept, and never printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A Redis error as the store traits report it.
pub(crate) fn unavailable(
    error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Unavailable {
        backend: "redis",
        source: error.into(),
    }
}
