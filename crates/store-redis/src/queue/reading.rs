//! Reading a held partition's stream into the local index, in order, with what earlier
//! attempts left for each entry (attempts, last error, checkpoint).

use std::time::{Duration, UNIX_EPOCH};

use botwire_store::{Job, NewJob, StoreError};
use bytes::Bytes;
use redis::AsyncCommands;
use redis::streams::{StreamId, StreamReadOptions, StreamReadReply};

use super::ids::job_id;
use super::keys::GROUP;
use crate::{RedisStore, unavailable};

/// Entries read from a stream at once.
pub(super) const READ_BATCH: usize = 512;
/// What earlier attempts left for an entry: attempts, last error, checkpoint.
type Left = (Option<String>, Option<String>, Option<Vec<u8>>);

impl RedisStore {
    /// Reads a held partition's entries into the local index: first, once, the pending entries
    /// the group holds for other consumers (they become this instance's); then this instance's
    /// own pending entries; then new ones. The caller holds `reading`.
    pub(super) async fn read_partition(&self, partition: u32) -> Result<(), StoreError> {
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

    /// Up to a batch of the group's entries for this instance: its pending ones after `from`,
    /// or new ones (`>`).
    pub(super) async fn read_group(
        &self,
        partition: u32,
        from: &str,
    ) -> Result<Vec<StreamId>, StoreError> {
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
    pub(super) async fn admit_entries(
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
    pub(super) async fn left_by_earlier_attempts(
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

    /// Reads `partition`'s new entries soon: now, unless another reader is at work, in which
    /// case that reader reads them when it is done. Pushes that arrive together so share a
    /// read instead of queueing one behind the other for the reading lock.
    pub(super) async fn read_now(&self, partition: u32) -> Result<(), StoreError> {
        self.queue.unread().insert(partition);
        self.read_unread().await
    }

    /// Reads the partitions pushed to since the last read, unless another reader is at work
    /// (it calls this again when it lets go of the lock).
    pub(super) async fn read_unread(&self) -> Result<(), StoreError> {
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
    pub(super) fn unload(&self, entry: &str, partition: u32) {
        if let Some(owned) = self.queue.owned().get_mut(&partition) {
            owned.loaded.remove(entry);
        }
    }
}
