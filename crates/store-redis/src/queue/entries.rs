//! Writing the streams: appending a job (bounded by the capacity), removing a finished one,
//! and hash fields written only while the lease is still this instance's.

use botwire_store::{JobId, NewJob, StoreError};
use bytes::Bytes;

use super::ids::{job_id, now_ms};
use super::keys::GROUP;
use super::scripts::{BOUNDED_XADD, FENCED_HSET};
use crate::{RedisStore, unavailable};

impl RedisStore {
    /// Writes hash fields (`(key, field, value)`) of `partition` only while this instance
    /// holds its lease. Whether it still did.
    pub(super) async fn write_fenced(
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

    pub(super) async fn remove_entry(&self, entry: &str, partition: u32) -> Result<(), StoreError> {
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

    /// Adds a job to its partition's stream, within the partition's share of the capacity
    /// when `bounded`; its id.
    pub(super) async fn append(
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
