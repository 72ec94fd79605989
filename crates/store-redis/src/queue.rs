//! The via-API work queue on Redis, shared by several instances.
//!
//! Conversations are spread over a fixed number of partitions (by the digest of the
//! conversation key). Each partition is one Redis stream, and belongs to one instance at a time
//! through a lease (`SET NX PX`, renewed while it works): the owner reads the partition's
//! entries in order into a local [`MemoryQueue`] index, whose lanes hand out one job per
//! conversation at a time. So a conversation's order holds across instances. An entry leaves
//! its stream only when it is finished or buried, so when an instance dies, whoever takes its
//! partitions next reads its unfinished entries again (with any checkpoint stored for them)
//! and finishes them. The ledger keeps a duplicate delivery out of the stream in the first
//! place.
//!
//! A single owner per partition makes Redis's consumer groups unnecessary: the stream itself is
//! the list of pending entries.
//!
//! Keys (hash tags per partition, and one for dead letters):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<prefix>:{q<p>}:stream` | stream | one entry per job: `c` channel, `v` conversation, `d` delivery id, `b` body, `a` accepted at (ms) |
//! | `<prefix>:{q<p>}:owner` | string | the owning instance's id; expires with the lease |
//! | `<prefix>:{q}:members` | sorted set | live instances, scored by when their presence expires; each aims at partitions ÷ members |
//! | `<prefix>:{q<p>}:tries` | hash | per entry id: `<attempts>` and `<entry>:e` last error |
//! | `<prefix>:{q<p>}:progress` | hash | per entry id: the checkpoint |
//! | `<prefix>:{dead}:ids` | sorted set | dead letter ids |
//! | `<prefix>:{dead}:<id>` | hash | a dead letter: the job's fields, `r` reason, `t` died at (ms) |
//! | `<prefix>:{dead}:seq` | counter | ids of deliveries buried before they were queued |

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use botwire_store::{
    ConversationKey, DeadLetter, Job, JobId, MemoryQueue, NewJob, Queue, QueueStats, StoreError,
};
use bytes::Bytes;
use redis::AsyncCommands;
use redis::streams::StreamRangeReply;
use tokio::time::Instant;

use crate::{RedisStore, unavailable};

/// How often a waiting worker looks for entries other instances added, and renews leases.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// Partition bits in a job id: up to 64 partitions; 63 marks ids of dead-only jobs.
const PARTITION_BITS: u32 = 6;
const DEAD_ONLY: u64 = 63;
/// Entries read from a stream at once.
const READ_BATCH: usize = 512;

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
    /// Jobs a worker of this instance holds, per partition: a partition is handed to another
    /// instance only when none is held.
    taken: Mutex<HashMap<u32, usize>>,
}

struct Owned {
    renewed: Instant,
    /// The last entry read into the local index.
    last: Option<String>,
    /// Entries in the local index (pushed here, or read), so that none is read twice.
    loaded: HashSet<String>,
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
            taken: Mutex::new(HashMap::new()),
        }
    }

    fn owned(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Owned>> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
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
    /// local index.
    async fn look(&self) -> Result<(), StoreError> {
        let _reading = self.queue.reading.lock().await;
        {
            let mut looked = self.queue.looked.lock().unwrap_or_else(|e| e.into_inner());
            if looked.is_some_and(|at| at.elapsed() < self.look_every() / 2) {
                return Ok(());
            }
            *looked = Some(Instant::now());
        }
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
                        self.queue.owned().insert(
                            partition,
                            Owned {
                                renewed: Instant::now(),
                                last: None,
                                loaded: HashSet::new(),
                            },
                        );
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

    /// Reads a held partition's new entries into the local index. The caller holds
    /// `reading`.
    async fn read_partition(&self, partition: u32) -> Result<(), StoreError> {
        let Some(last) = self.queue.owned().get(&partition).map(|o| o.last.clone()) else {
            return Ok(());
        };
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let start = last.map_or_else(|| "-".to_owned(), |l| format!("({l}"));
        let reply: StreamRangeReply = conn
            .xrange_count(&stream, start, "+", READ_BATCH)
            .await
            .map_err(unavailable)?;
        for entry in reply.ids {
            let Some(id) = job_id(&entry.id, partition) else {
                continue;
            };
            let field = |name: &str| -> Option<Vec<u8>> { entry.get(name) };
            let text = |name: &str| {
                field(name)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            };
            // What earlier attempts left: one round trip for all three.
            let (tries, last_error, progress): (Option<String>, Option<String>, Option<Vec<u8>>) =
                redis::pipe()
                    .hget(self.queue_key(partition, "tries"), &entry.id)
                    .hget(
                        self.queue_key(partition, "tries"),
                        format!("{}:e", entry.id),
                    )
                    .hget(self.queue_key(partition, "progress"), &entry.id)
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
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
                held.last = Some(entry.id.clone());
                held.loaded.insert(entry.id.clone())
            };
            if fresh {
                self.queue.local.admit(job);
            }
        }
        Ok(())
    }

    /// Forgets a finished or buried entry locally.
    fn unload(&self, entry: &str, partition: u32) {
        if let Some(owned) = self.queue.owned().get_mut(&partition) {
            owned.loaded.remove(entry);
        }
    }

    async fn remove_entry(&self, entry: &str, partition: u32) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .xdel(self.queue_key(partition, "stream"), &[entry])
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
        redis::pipe()
            .atomic()
            .hset_multiple(&key, &fields)
            .zadd(self.dead_key("ids"), job.id.0.to_string(), job.id.0 as f64)
            .query_async::<()>(&mut conn)
            .await
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

    /// Adds a job to its partition's stream; its id, and whether this instance holds the
    /// partition (it was then admitted locally at once).
    async fn append(
        &self,
        job: &NewJob,
        attempts: u32,
        progress: Option<&Bytes>,
    ) -> Result<JobId, StoreError> {
        let partition = self.partition_of(&job.channel, &job.conversation);
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let length: usize = conn.xlen(&stream).await.map_err(unavailable)?;
        let share = self.queue.capacity.div_ceil(self.queue.partitions as usize);
        if length >= share {
            return Err(StoreError::QueueFull {
                capacity: self.queue.capacity,
            });
        }
        let accepted = now_ms().to_string();
        let entry: String = conn
            .xadd(
                &stream,
                "*",
                &[
                    ("c", job.channel.as_bytes()),
                    ("v", job.conversation.as_bytes()),
                    ("d", job.delivery_id.as_bytes()),
                    ("b", &job.body[..]),
                    ("a", accepted.as_bytes()),
                ],
            )
            .await
            .map_err(unavailable)?;
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
        let _reading = self.queue.reading.lock().await;
        self.read_partition(partition).await?;
        Ok(id)
    }
}

#[async_trait]
impl Queue for RedisStore {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        if self.queue.owned().is_empty() {
            // The first push of a fresh instance: take partitions before writing.
            self.look().await?;
        }
        self.append(&job, 0, None).await
    }

    async fn take(&self) -> Result<Job, StoreError> {
        loop {
            self.look().await?;
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
            let mut conn = self.conn.clone();
            let tries = self.queue_key(partition, "tries");
            let mut pipe = redis::pipe();
            pipe.atomic().hset(&tries, &entry, job.attempts.to_string());
            if let Some(error) = &job.last_error {
                pipe.hset(&tries, format!("{entry}:e"), error);
            }
            if let Some(progress) = &job.progress {
                pipe.hset(self.queue_key(partition, "progress"), &entry, &progress[..]);
            }
            pipe.query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
            self.queue.count_taken(partition, -1);
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
        self.append(&new, 0, job.progress.as_ref()).await?;
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
        let mut conn = self.conn.clone();
        conn.hset::<_, _, _, ()>(self.queue_key(partition, "progress"), entry, &progress[..])
            .await
            .map_err(unavailable)
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
