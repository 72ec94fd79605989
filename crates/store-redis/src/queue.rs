//! The via-API work queue on Redis, shared by several instances.
//!
//! Conversations are spread over a fixed number of partitions (by the digest of the
//! conversation key). Each partition is one Redis stream with one consumer group, and belongs
//! to one instance at a time through a lease (`SET NX PX`, renewed while it works). The owner
//! reads the partition's entries in order (`XREADGROUP`, as a consumer named after itself) into
//! a local [`MemoryQueue`] index, whose lanes hand out one job per conversation at a time. So a
//! conversation's order holds across instances.
//!
//! An entry is acknowledged and deleted only when it is finished or buried. Until then it stays
//! in the reading consumer's pending list, so whoever takes a partition next first claims every
//! pending entry of the group (`XAUTOCLAIM`), reads them again (with any checkpoint stored for
//! them), and finishes them. Checkpoints and retry counts are written only while the lease is
//! still this instance's (checked in the same script), so an instance that stalled past its
//! lease cannot overwrite what the new owner does. The ledger keeps a duplicate delivery out of
//! the stream in the first place.
//!
//! Keys (hash tags per partition, and one for dead letters):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<prefix>:{q<p>}:stream` | stream | one entry per job: `c` channel, `v` conversation, `d` delivery id, `b` body, `a` accepted at (ms); consumer group `workers`, one consumer per instance |
//! | `<prefix>:{q<p>}:owner` | string | the owning instance's id; expires with the lease |
//! | `<prefix>:{q}:members` | sorted set | live instances, scored by when their presence expires; each aims at partitions ÷ members |
//! | `<prefix>:{q<p>}:tries` | hash | per entry id: `<attempts>` and `<entry>:e` last error |
//! | `<prefix>:{q<p>}:progress` | hash | per entry id: the checkpoint |
//! | `<prefix>:{dead}:ids` | sorted set | dead letter ids, ranked in the order they died |
//! | `<prefix>:{dead}:order` | counter | the rank of the last dead letter kept |
//! | `<prefix>:{dead}:<id>` | hash | a dead letter: the job's fields, `r` reason, `t` died at (ms) |
//! | `<prefix>:{dead}:seq` | counter | ids of deliveries buried before they were queued |

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use botwire_store::{
    ConversationKey, DeadLetter, Job, JobId, Kept, MemoryQueue, NewJob, Queue, QueueStats,
    StoreError,
};
use bytes::Bytes;
use redis::AsyncCommands;
use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamInfoConsumersReply,
    StreamReadOptions, StreamReadReply,
};
use tokio::time::Instant;

use crate::{RedisStore, unavailable};

/// How often a waiting worker looks for entries other instances added, and renews leases.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// Partition bits in a job id: up to 64 partitions; 63 marks ids of dead-only jobs.
const PARTITION_BITS: u32 = 6;
const DEAD_ONLY: u64 = 63;
/// Entries read from a stream at once.
const READ_BATCH: usize = 512;
/// What earlier attempts left for an entry: attempts, last error, checkpoint.
type Left = (Option<String>, Option<String>, Option<Vec<u8>>);

/// The consumer group of every partition's stream.
const GROUP: &str = "workers";

/// Extends a partition's lease if this instance still holds it.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
         return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
    )
});

/// Gives a partition's lease up if this instance holds it.
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
         return redis.call('DEL', KEYS[1]) end return 0",
    )
});

/// Sets hash fields only while this instance holds the partition's lease: `KEYS[1]` is the
/// owner key, each further key gets one field (`ARGV[2i]`) and value (`ARGV[2i+1]`).
/// Returns 0, writing nothing, when the lease is another's.
static FENCED_HSET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end \
         for i = 2, #KEYS do redis.call('HSET', KEYS[i], ARGV[2 * i - 2], ARGV[2 * i - 1]) end \
         return 1",
    )
});

/// Appends an entry (`ARGV[2..]`, field and value pairs) to the stream `KEYS[1]` unless it
/// holds `ARGV[1]` entries already; the entry's id, or nil when full. One round trip, and two
/// pushes cannot both take the last place.
static BOUNDED_XADD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end \
         return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))",
    )
});

/// Keeps a dead letter: its fields (`ARGV[2..]`) in the hash `KEYS[1]`, and its id
/// (`ARGV[1]`) in the list `KEYS[2]`, ranked by a counter (`KEYS[3]`) so that the list is in
/// the order they died, across instances (ids are stream positions or a counter of their own,
/// and say nothing about it).
static KEEP_DEAD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local rank = redis.call('INCR', KEYS[3]) \
         redis.call('HSET', KEYS[1], unpack(ARGV, 2)) \
         redis.call('ZADD', KEYS[2], rank, ARGV[1]) \
         return rank",
    )
});

/// The queue's settings and what this instance holds.
pub(crate) struct QueueState {
    /// This instance, as the owner of partitions.
    instance: String,
    partitions: u32,
    capacity: usize,
    /// How long a partition stays this instance's after its last renewal.
    lease: Duration,
    /// Jobs of owned partitions, in lanes.
    local: MemoryQueue,
    owned: Mutex<HashMap<u32, Owned>>,
    /// One reader of the streams at a time, so that an entry is never read twice (a read
    /// that started before another finished would start from an older position).
    reading: tokio::sync::Mutex<()>,
    /// When the streams were last looked at: the workers waiting together look once per
    /// period, not once each.
    looked: Mutex<Option<Instant>>,
    /// Partitions pushed to since the last read, for the next reader to read.
    unread: Mutex<HashSet<u32>>,
    /// Jobs a worker of this instance holds, per partition: a partition is handed to another
    /// instance only when none is held.
    taken: Mutex<HashMap<u32, usize>>,
}

struct Owned {
    renewed: Instant,
    /// Whether the group exists and the pending entries of other consumers are claimed.
    adopted: bool,
    /// Where reading this instance's own pending entries goes on (`Some("0")` at first);
    /// `None` once they are all read, and only new entries (`>`) are left.
    history: Option<String>,
    /// Entries in the local index, so that none is admitted twice.
    loaded: HashSet<String>,
}

impl Owned {
    fn new() -> Self {
        Self {
            renewed: Instant::now(),
            adopted: false,
            history: Some("0".to_owned()),
            loaded: HashSet::new(),
        }
    }
}

impl QueueState {
    pub(crate) fn new(options: &crate::RedisOptions) -> Self {
        Self {
            instance: format!("{:016x}", fastrand::u64(..)),
            partitions: options.partitions.clamp(1, 63),
            capacity: options.queue_capacity,
            lease: options.lease,
            local: MemoryQueue::new(options.queue_capacity.max(1), 0),
            owned: Mutex::new(HashMap::new()),
            reading: tokio::sync::Mutex::new(()),
            looked: Mutex::new(None),
            unread: Mutex::new(HashSet::new()),
            taken: Mutex::new(HashMap::new()),
        }
    }

    fn owned(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Owned>> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unread(&self) -> std::sync::MutexGuard<'_, HashSet<u32>> {
        self.unread.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a job of `partition` taken (`+1`) or given back (`-1`).
    fn count_taken(&self, partition: u32, change: isize) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let count = taken.entry(partition).or_default();
        *count = count.saturating_add_signed(change);
    }

    fn held_by_workers(&self, partition: u32) -> bool {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.get(&partition).is_some_and(|n| *n > 0)
    }

    /// Hands `partition` over, unless a worker here holds one of its jobs (`force`: the lease
    /// is gone anyway). Its waiting jobs are dropped here: the new owner reads them again.
    /// Whether it was let go.
    fn let_go(&self, partition: u32, force: bool) -> bool {
        {
            // Under the same lock as `take`'s check, so a job cannot be taken in between.
            let mut owned = self.owned();
            if !force && self.held_by_workers(partition) {
                return false;
            }
            owned.remove(&partition);
        }
        let dropped = self
            .local
            .forget(|job| entry_of(job.id).is_some_and(|(_, p)| p == partition));
        if dropped > 0 {
            tracing::debug!(
                partition,
                dropped,
                "left a partition's waiting jobs to its new owner"
            );
        }
        true
    }

    /// Counts a job of `partition` as taken, if the partition is still this instance's.
    fn take_from(&self, partition: u32) -> bool {
        let owned = self.owned();
        let ours = owned.contains_key(&partition);
        if ours {
            self.count_taken(partition, 1);
        }
        ours
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A job id from a stream entry id (`<ms>-<seq>`) and its partition.
fn job_id(entry: &str, partition: u32) -> Option<JobId> {
    let (ms, seq) = entry.split_once('-')?;
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    (seq < 1 << 16).then(|| JobId((ms << 22) | (seq << PARTITION_BITS) | u64::from(partition)))
}

/// The stream entry and partition of a job id (`None` for dead-only ids).
fn entry_of(id: JobId) -> Option<(String, u32)> {
    let partition = id.0 & ((1 << PARTITION_BITS) - 1);
    if partition == DEAD_ONLY {
        return None;
    }
    let seq = (id.0 >> PARTITION_BITS) & 0xFFFF;
    let ms = id.0 >> 22;
    Some((format!("{ms}-{seq}"), u32::try_from(partition).ok()?))
}

impl RedisStore {
    fn queue_key(&self, partition: u32, name: &str) -> String {
        self.key(&format!("q{partition}"), name)
    }

    /// How often waiting workers look for new entries and renew leases.
    fn look_every(&self) -> Duration {
        LOOK_EVERY.min(self.queue.lease / 3)
    }

    fn dead_key(&self, name: &str) -> String {
        self.key("dead", name)
    }

    fn partition_of(&self, channel: &str, conversation: &str) -> u32 {
        let digest = ConversationKey::new(channel, conversation).digest();
        let n = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        n % self.queue.partitions
    }

    /// Takes free partitions, renews the ones held, and reads their new entries into the
    /// local index, when it is time to. Waits for a reader at work only when `wait`: workers
    /// do not, since that reader looks too when it is time (see `read_unread`); under a
    /// steady stream of pushes the lock is seldom free, and workers waiting for it would take
    /// no job while the queue fills.
    async fn look(&self, wait: bool) -> Result<(), StoreError> {
        if !self.look_due() {
            return Ok(());
        }
        {
            let _reading = if wait {
                self.queue.reading.lock().await
            } else {
                let Ok(reading) = self.queue.reading.try_lock() else {
                    return Ok(());
                };
                reading
            };
            self.look_locked().await?;
        }
        // Pushes that found the lock taken meanwhile left their partitions to this reader.
        self.read_unread().await
    }

    /// Whether it is time to look again.
    fn look_due(&self) -> bool {
        let looked = self.queue.looked.lock().unwrap_or_else(|e| e.into_inner());
        !looked.is_some_and(|at| at.elapsed() < self.look_every() / 2)
    }

    /// [`look`](Self::look), with the reading lock held (so no other look runs meanwhile).
    async fn look_locked(&self) -> Result<(), StoreError> {
        if !self.look_due() {
            return Ok(());
        }
        *self.queue.looked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let mut conn = self.conn.clone();
        let lease_ms = u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX);
        // Instances announce themselves; each aims at its share of the partitions.
        let members = self.key("q", "members");
        let now = now_ms();
        let (_, _, live): (i64, i64, usize) = redis::pipe()
            .zadd(
                &members,
                &self.queue.instance,
                now.saturating_add(lease_ms) as f64,
            )
            .zrembyscore(&members, f64::NEG_INFINITY, now as f64)
            .zcard(&members)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let share = (self.queue.partitions as usize).div_ceil(live.max(1));
        for partition in 0..self.queue.partitions {
            let owner = self.queue_key(partition, "owner");
            let held = self.queue.owned().get(&partition).map(|o| o.renewed);
            match held {
                Some(renewed) if renewed.elapsed() < self.queue.lease / 3 => {}
                Some(_) => {
                    let renewed: i64 = RENEW
                        .key(&owner)
                        .arg(&self.queue.instance)
                        .arg(u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX))
                        .invoke_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    if renewed == 1 {
                        if let Some(owned) = self.queue.owned().get_mut(&partition) {
                            owned.renewed = Instant::now();
                        }
                    } else {
                        tracing::warn!(partition, "lost the lease on a queue partition");
                        self.queue.let_go(partition, true);
                    }
                }
                None if self.queue.owned().len() >= share => {}
                None => {
                    let taken: Option<String> = redis::cmd("SET")
                        .arg(&owner)
                        .arg(&self.queue.instance)
                        .arg("NX")
                        .arg("PX")
                        .arg(u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX))
                        .query_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    if taken.is_some() {
                        self.queue.owned().insert(partition, Owned::new());
                    }
                }
            }
        }
        // More than a share (another instance joined): hand over partitions no worker holds.
        let extra: Vec<u32> = {
            let owned = self.queue.owned();
            let mut idle: Vec<u32> = owned
                .keys()
                .copied()
                .filter(|p| !self.queue.held_by_workers(*p))
                .collect();
            idle.sort_unstable();
            idle.into_iter()
                .take(owned.len().saturating_sub(share))
                .collect()
        };
        for partition in extra {
            if !self.queue.let_go(partition, false) {
                continue;
            }
            let _: i64 = RELEASE
                .key(self.queue_key(partition, "owner"))
                .arg(&self.queue.instance)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        let partitions: Vec<u32> = self.queue.owned().keys().copied().collect();
        for partition in partitions {
            self.read_partition(partition).await?;
        }
        Ok(())
    }

    /// How many queue partitions this instance holds now.
    pub fn owned_partitions(&self) -> usize {
        self.queue.owned().len()
    }

    /// Reads a held partition's entries into the local index: first, once, the pending entries
    /// the group holds for other consumers (they become this instance's); then this instance's
    /// own pending entries; then new ones. The caller holds `reading`.
    async fn read_partition(&self, partition: u32) -> Result<(), StoreError> {
        let Some((adopted, history)) = self
            .queue
            .owned()
            .get(&partition)
            .map(|o| (o.adopted, o.history.clone()))
        else {
            return Ok(());
        };
        if !adopted {
            self.adopt(partition).await?;
            if let Some(owned) = self.queue.owned().get_mut(&partition) {
                owned.adopted = true;
            }
        }
        if let Some(from) = history {
            let entries = self.read_group(partition, &from).await?;
            // A full batch may have more behind it: new entries wait until all of it is read,
            // so that they come after it in their conversations.
            let more = entries.len() == READ_BATCH;
            let next = entries.last().map(|e| e.id.clone()).filter(|_| more);
            self.admit_entries(partition, entries).await?;
            if let Some(owned) = self.queue.owned().get_mut(&partition) {
                owned.history = next;
            }
            if more {
                return Ok(());
            }
        }
        let entries = self.read_group(partition, ">").await?;
        self.admit_entries(partition, entries).await
    }

    /// Makes sure the partition's group exists, and claims every entry pending for another
    /// consumer (an instance that died or handed the partition over), so that it is read
    /// again here. Consumers left with nothing pending are removed.
    async fn adopt(&self, partition: u32) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let created: redis::RedisResult<()> =
            conn.xgroup_create_mkstream(&stream, GROUP, "0").await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => return Err(unavailable(e)),
            _ => {}
        }
        let mut start = "0-0".to_owned();
        let mut claimed = 0;
        loop {
            let options = StreamAutoClaimOptions::default()
                .count(READ_BATCH)
                .with_justid();
            let reply: StreamAutoClaimReply = conn
                .xautoclaim_options(&stream, GROUP, &self.queue.instance, 0, &start, options)
                .await
                .map_err(unavailable)?;
            claimed += reply.claimed.len();
            if reply.next_stream_id == "0-0" {
                break;
            }
            start = reply.next_stream_id;
        }
        let consumers: StreamInfoConsumersReply = conn
            .xinfo_consumers(&stream, GROUP)
            .await
            .map_err(unavailable)?;
        for gone in consumers
            .consumers
            .iter()
            .filter(|c| c.pending == 0 && c.name != self.queue.instance)
        {
            let _: i64 = conn
                .xgroup_delconsumer(&stream, GROUP, &gone.name)
                .await
                .map_err(unavailable)?;
        }
        if claimed > 0 {
            tracing::info!(
                partition,
                claimed,
                "took over a queue partition's unfinished entries"
            );
        }
        Ok(())
    }

    /// Up to a batch of the group's entries for this instance: its pending ones after `from`,
    /// or new ones (`>`).
    async fn read_group(&self, partition: u32, from: &str) -> Result<Vec<StreamId>, StoreError> {
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let options = StreamReadOptions::default()
            .group(GROUP, &self.queue.instance)
            .count(READ_BATCH);
        let read: redis::RedisResult<Option<StreamReadReply>> =
            conn.xread_options(&[&stream], &[from], &options).await;
        match read {
            Ok(reply) => Ok(reply
                .and_then(|r| r.keys.into_iter().next())
                .map(|k| k.ids)
                .unwrap_or_default()),
            Err(e) if e.code() == Some("NOGROUP") => {
                // The stream was removed under us (a flushed database): make it again.
                if let Some(owned) = self.queue.owned().get_mut(&partition) {
                    owned.adopted = false;
                }
                Ok(Vec::new())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Puts read entries into the local index, with what earlier attempts left for them.
    async fn admit_entries(
        &self,
        partition: u32,
        entries: Vec<StreamId>,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let left = self.left_by_earlier_attempts(partition, &entries).await?;
        for (entry, (tries, last_error, progress)) in entries.into_iter().zip(left) {
            let Some(id) = job_id(&entry.id, partition) else {
                continue;
            };
            let field = |name: &str| -> Option<Vec<u8>> { entry.get(name) };
            let text = |name: &str| {
                field(name)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            };
            let new = NewJob::new(
                text("c"),
                text("v"),
                text("d"),
                Bytes::from(field("b").unwrap_or_default()),
            );
            let accepted =
                UNIX_EPOCH + Duration::from_millis(text("a").parse().unwrap_or_default());
            let mut job = Job::accepted(id, new, accepted);
            job.attempts = tries.and_then(|t| t.parse().ok()).unwrap_or(0);
            job.progress = progress.map(Bytes::from);
            job.last_error = last_error;
            let fresh = {
                let mut owned = self.queue.owned();
                let Some(held) = owned.get_mut(&partition) else {
                    return Ok(());
                };
                held.loaded.insert(entry.id.clone())
            };
            if fresh {
                self.queue.local.admit(job);
            }
        }
        Ok(())
    }

    /// What earlier attempts left for each of `entries`: attempts, last error, checkpoint. One
    /// round trip for the whole batch: the partition's reader waits on it, and every job of
    /// the partition waits on the reader.
    async fn left_by_earlier_attempts(
        &self,
        partition: u32,
        entries: &[StreamId],
    ) -> Result<Vec<Left>, StoreError> {
        let mut conn = self.conn.clone();
        let mut tries = redis::cmd("HMGET");
        tries.arg(self.queue_key(partition, "tries"));
        let mut progress = redis::cmd("HMGET");
        progress.arg(self.queue_key(partition, "progress"));
        for entry in entries {
            tries.arg(&entry.id).arg(format!("{}:e", entry.id));
            progress.arg(&entry.id);
        }
        let (tries, progress): (Vec<Option<String>>, Vec<Option<Vec<u8>>>) = redis::pipe()
            .add_command(tries)
            .add_command(progress)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if tries.len() != 2 * entries.len() || progress.len() != entries.len() {
            return Err(unavailable(
                "Redis answered HMGET with the wrong number of fields",
            ));
        }
        let mut tries = tries.into_iter();
        Ok(progress
            .into_iter()
            .map(|progress| {
                let attempts = tries.next().flatten();
                let error = tries.next().flatten();
                (attempts, error, progress)
            })
            .collect())
    }

    /// Writes hash fields (`(key, field, value)`) of `partition` only while this instance
    /// holds its lease. Whether it still did.
    async fn write_fenced(
        &self,
        partition: u32,
        fields: &[(String, String, &[u8])],
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let mut script = FENCED_HSET.prepare_invoke();
        script
            .key(self.queue_key(partition, "owner"))
            .arg(&self.queue.instance);
        for (key, field, value) in fields {
            script.key(key).arg(field).arg(*value);
        }
        let written: i64 = script.invoke_async(&mut conn).await.map_err(unavailable)?;
        Ok(written == 1)
    }

    /// Reads `partition`'s new entries soon: now, unless another reader is at work, in which
    /// case that reader reads them when it is done. Pushes that arrive together so share a
    /// read instead of queueing one behind the other for the reading lock.
    async fn read_now(&self, partition: u32) -> Result<(), StoreError> {
        self.queue.unread().insert(partition);
        self.read_unread().await
    }

    /// Reads the partitions pushed to since the last read, unless another reader is at work
    /// (it calls this again when it lets go of the lock).
    async fn read_unread(&self) -> Result<(), StoreError> {
        loop {
            {
                let Ok(_reading) = self.queue.reading.try_lock() else {
                    return Ok(());
                };
                // Pushes may keep this reader at work for long: it also renews the leases
                // and looks for other instances' entries when that is due.
                self.look_locked().await?;
                let partitions: Vec<u32> = self.queue.unread().drain().collect();
                for partition in partitions {
                    self.read_partition(partition).await?;
                }
            }
            // Pushed while the lock was held, by a pusher that found it taken.
            if self.queue.unread().is_empty() {
                return Ok(());
            }
        }
    }

    /// Forgets a finished or buried entry locally.
    fn unload(&self, entry: &str, partition: u32) {
        if let Some(owned) = self.queue.owned().get_mut(&partition) {
            owned.loaded.remove(entry);
        }
    }

    async fn remove_entry(&self, entry: &str, partition: u32) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        redis::pipe()
            .atomic()
            .xack(&stream, GROUP, &[entry])
            .xdel(&stream, &[entry])
            .hdel(
                self.queue_key(partition, "tries"),
                &[entry.to_owned(), format!("{entry}:e")],
            )
            .hdel(self.queue_key(partition, "progress"), entry)
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)
    }

    async fn keep_dead(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.dead_key(&job.id.0.to_string());
        let mut fields: Vec<(&str, Vec<u8>)> = vec![
            ("c", job.channel.clone().into_bytes()),
            ("v", job.conversation.clone().into_bytes()),
            ("d", job.delivery_id.clone().into_bytes()),
            ("b", job.body.to_vec()),
            ("n", job.attempts.to_string().into_bytes()),
            ("r", reason.as_bytes().to_vec()),
            ("t", now_ms().to_string().into_bytes()),
            (
                "a",
                job.accepted_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
                    .to_string()
                    .into_bytes(),
            ),
        ];
        if let Some(progress) = &job.progress {
            fields.push(("p", progress.to_vec()));
        }
        if let Some(error) = &job.last_error {
            fields.push(("e", error.clone().into_bytes()));
        }
        let mut script = KEEP_DEAD.prepare_invoke();
        script
            .key(&key)
            .key(self.dead_key("ids"))
            .key(self.dead_key("order"))
            .arg(job.id.0.to_string());
        for (field, value) in &fields {
            script.arg(*field).arg(&value[..]);
        }
        script
            .invoke_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, Vec<u8>> = conn
            .hgetall(self.dead_key(&id.to_string()))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let text = |name: &str| {
            fields
                .get(name)
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let ms = |name: &str| {
            UNIX_EPOCH + Duration::from_millis(text(name).and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        let new = NewJob::new(
            text("c").unwrap_or_default(),
            text("v").unwrap_or_default(),
            text("d").unwrap_or_default(),
            Bytes::from(fields.get("b").cloned().unwrap_or_default()),
        );
        let mut job = Job::accepted(JobId(id), new, ms("a"));
        job.attempts = text("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        job.progress = fields.get("p").cloned().map(Bytes::from);
        job.last_error = text("e");
        Ok(Some(DeadLetter::new(
            job,
            text("r").unwrap_or_default(),
            ms("t"),
        )))
    }

    /// Adds a job to its partition's stream, within the partition's share of the capacity
    /// when `bounded`; its id.
    async fn append(
        &self,
        job: &NewJob,
        attempts: u32,
        progress: Option<&Bytes>,
        bounded: bool,
    ) -> Result<JobId, StoreError> {
        let partition = self.partition_of(&job.channel, &job.conversation);
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let share = if bounded {
            self.queue.capacity.div_ceil(self.queue.partitions as usize)
        } else {
            usize::MAX
        };
        let accepted = now_ms().to_string();
        let entry: Option<String> = BOUNDED_XADD
            .key(&stream)
            .arg(share)
            .arg("c")
            .arg(job.channel.as_bytes())
            .arg("v")
            .arg(job.conversation.as_bytes())
            .arg("d")
            .arg(job.delivery_id.as_bytes())
            .arg("b")
            .arg(&job.body[..])
            .arg("a")
            .arg(accepted.as_bytes())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let Some(entry) = entry else {
            return Err(StoreError::QueueFull {
                capacity: self.queue.capacity,
            });
        };
        let id = job_id(&entry, partition)
            .ok_or_else(|| unavailable("Redis gave a stream id out of range"))?;
        if attempts > 0 || progress.is_some() {
            let mut pipe = redis::pipe();
            pipe.hset(
                self.queue_key(partition, "tries"),
                &entry,
                attempts.to_string(),
            );
            if let Some(progress) = progress {
                pipe.hset(self.queue_key(partition, "progress"), &entry, &progress[..]);
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        // Read it (and anything before it) into the local index now, when this instance holds
        // the partition, rather than at the next look.
        self.read_now(partition).await?;
        Ok(id)
    }
}

#[async_trait]
impl Queue for RedisStore {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        if self.queue.owned().is_empty() {
            // The first push of a fresh instance: take partitions before writing.
            self.look(true).await?;
        }
        self.append(&job, 0, None, true).await
    }

    /// Past the capacity, in the partition's stream: Redis's memory bounds it then.
    async fn push_kept(&self, job: NewJob) -> Result<Kept, StoreError> {
        if self.queue.owned().is_empty() {
            self.look(true).await?;
        }
        self.append(&job, 0, None, false).await.map(Kept::Queued)
    }

    async fn take(&self) -> Result<Job, StoreError> {
        loop {
            self.look(false).await?;
            let job = tokio::select! {
                job = self.queue.local.take() => job?,
                () = tokio::time::sleep(self.look_every()) => continue,
            };
            let Some((_, partition)) = entry_of(job.id) else {
                return Ok(job);
            };
            if self.queue.take_from(partition) {
                return Ok(job);
            }
            // Its partition went to another instance meanwhile: that one hands it out.
            self.queue.local.finish(job.id).await?;
        }
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        if let Some((entry, partition)) = entry_of(id) {
            self.remove_entry(&entry, partition).await?;
            self.unload(&entry, partition);
            self.queue.count_taken(partition, -1);
        }
        self.queue.local.finish(id).await
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        if let Some((entry, partition)) = entry_of(job.id) {
            let tries = self.queue_key(partition, "tries");
            let attempts = job.attempts.to_string();
            let mut fields = vec![(tries.clone(), entry.clone(), attempts.as_bytes())];
            if let Some(error) = &job.last_error {
                fields.push((tries, format!("{entry}:e"), error.as_bytes()));
            }
            if let Some(progress) = &job.progress {
                fields.push((self.queue_key(partition, "progress"), entry, &progress[..]));
            }
            let ours = self.write_fenced(partition, &fields).await?;
            self.queue.count_taken(partition, -1);
            if !ours {
                // The lease ran out while the job was worked on: the new owner has it now.
                tracing::warn!(partition, "lost a queue partition during an attempt");
                self.queue.let_go(partition, true);
                return self.queue.local.finish(job.id).await;
            }
        }
        self.queue.local.retry(job, after).await
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        self.keep_dead(&job, reason).await?;
        if let Some((entry, partition)) = entry_of(job.id) {
            self.remove_entry(&entry, partition).await?;
            self.unload(&entry, partition);
            self.queue.count_taken(partition, -1);
        }
        self.queue.local.finish(job.id).await
    }

    async fn bury_new(&self, new: NewJob, reason: &str) -> Result<JobId, StoreError> {
        let mut conn = self.conn.clone();
        let seq: u64 = conn
            .incr(self.dead_key("seq"), 1)
            .await
            .map_err(unavailable)?;
        let mut job = Job::accepted(
            JobId((seq << PARTITION_BITS) | DEAD_ONLY),
            new,
            SystemTime::now(),
        );
        job.last_error = Some(reason.to_owned());
        self.keep_dead(&job, reason).await?;
        Ok(job.id)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<u64> = conn
            .zrange(self.dead_key("ids"), 0, -1)
            .await
            .map_err(unavailable)?;
        let mut letters = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(letter) = self.dead_letter(id).await? {
                letters.push(letter);
            }
        }
        Ok(letters)
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        let Some(letter) = self.dead_letter(id.0).await? else {
            return Ok(false);
        };
        let job = letter.job;
        let new = NewJob::new(job.channel, job.conversation, job.delivery_id, job.body);
        self.append(&new, 0, job.progress.as_ref(), true).await?;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .del(self.dead_key(&id.0.to_string()))
            .zrem(self.dead_key("ids"), id.0.to_string())
            .query_async::<()>(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(true)
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let mut conn = self.conn.clone();
        // Every partition's length in one round trip (readiness asks for this).
        let mut lengths = redis::pipe();
        for partition in 0..self.queue.partitions {
            lengths.xlen(self.queue_key(partition, "stream"));
        }
        let lengths: Vec<usize> = lengths.query_async(&mut conn).await.map_err(unavailable)?;
        let queued = lengths.iter().sum();
        let dead: usize = conn
            .zcard(self.dead_key("ids"))
            .await
            .map_err(unavailable)?;
        let local = self.queue.local.stats().await?;
        let mut stats = local;
        stats.queued = queued;
        stats.dead = dead;
        stats.capacity = self.queue.capacity;
        Ok(stats)
    }

    async fn checkpoint(&self, id: JobId, progress: Bytes) -> Result<(), StoreError> {
        let Some((entry, partition)) = entry_of(id) else {
            return Ok(());
        };
        let key = self.queue_key(partition, "progress");
        if self
            .write_fenced(partition, &[(key, entry, &progress[..])])
            .await?
        {
            Ok(())
        } else {
            // Another instance owns the job now; what this attempt did must not count.
            Err(StoreError::ClaimLost)
        }
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        self.queue.local.pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_carry_the_entry_and_the_partition() {
        let id = job_id("1700000000000-5", 7).expect("in range");
        assert_eq!(entry_of(id), Some(("1700000000000-5".to_owned(), 7)));
        assert_eq!(job_id("1-70000", 1), None, "a sequence past 16 bits");
        assert_eq!(entry_of(JobId((3 << PARTITION_BITS) | DEAD_ONLY)), None);
    }
}
