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

mod dead;
mod entries;
mod ids;
mod keys;
mod ownership;
mod reading;
mod scripts;
mod state;

pub(crate) use state::QueueState;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use botwire_store::{DeadLetter, Job, JobId, Kept, NewJob, Queue, QueueStats, StoreError};
use bytes::Bytes;
use redis::AsyncCommands;

use self::ids::{DEAD_ONLY, PARTITION_BITS, entry_of};
use crate::{RedisStore, unavailable};

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

    /// Of the partitions this instance holds: each instance answers for its own, so the
    /// oldest across instances is the largest age any of them reports.
    async fn oldest(&self) -> Result<Option<SystemTime>, StoreError> {
        self.queue.local.oldest().await
    }
}
