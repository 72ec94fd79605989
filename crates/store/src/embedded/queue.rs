//! The via-API work queue in the embedded store.
//!
//! Every job is stored before `push` returns, so an acknowledgement sent after it survives a
//! crash; it leaves the file when it is finished or buried (then it is a dead letter, also
//! stored). Which job a worker may take next — per-conversation lanes, backoff — is kept in
//! memory as ids alone ([`Lanes`]) and rebuilt from the file at start, in acceptance order,
//! so each conversation's order holds across a restart; a job is read from the file when it
//! is taken, so a backlog of a million jobs costs memory for their ids and lanes, not their
//! bodies. A job taken when the process died is taken again. Backoff waits are not stored:
//! after a restart, retries run at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use redb::{ReadableTable, ReadableTableMetadata};

use super::access::{readable, unavailable};
use super::store::EmbeddedStore;
use super::tables::{DEAD, JOBS, LAST_ID, StoredJob, Tables};
use crate::lanes::{Lanes, lane_key};
use crate::{DeadLetter, Job, JobId, Kept, NewJob, Queue, QueueStats, StoreError};

/// Stores a new job under its id, and records the id as given.
pub(super) fn store_new(tables: &mut Tables<'_>, job: &Job) -> Result<(), StoreError> {
    tables
        .jobs()?
        .insert(job.id.0, stored(job))
        .map_err(unavailable)?;
    note_id(tables, job.id)
}

fn note_id(tables: &mut Tables<'_>, id: JobId) -> Result<(), StoreError> {
    let last = tables.last_id()?;
    let highest = last.get(()).map_err(unavailable)?.map_or(0, |v| v.value());
    if id.0 > highest {
        last.insert((), id.0).map_err(unavailable)?;
    }
    Ok(())
}

fn ms(at: SystemTime) -> u64 {
    crate::epoch_ms(at)
}

fn stored(job: &Job) -> StoredJob<'_> {
    (
        &job.channel,
        &job.conversation,
        &job.delivery_id,
        &job.body,
        job.attempts,
        job.progress.as_deref(),
        job.last_error.as_deref(),
        ms(job.accepted_at),
    )
}

fn job(id: u64, stored: StoredJob<'_>) -> Job {
    let (channel, conversation, delivery_id, body, attempts, progress, last_error, accepted) =
        stored;
    Job {
        id: JobId(id),
        channel: channel.to_owned(),
        conversation: conversation.to_owned(),
        delivery_id: delivery_id.to_owned(),
        body: Bytes::copy_from_slice(body),
        attempts,
        progress: progress.map(Bytes::copy_from_slice),
        last_error: last_error.map(str::to_owned),
        accepted_at: UNIX_EPOCH + Duration::from_millis(accepted),
    }
}

impl EmbeddedStore {
    /// Queues the stored jobs again, in acceptance order, and numbers new jobs past every id
    /// ever given.
    pub(super) fn recover_queue(&self) -> Result<(), StoreError> {
        let tx = self.read()?;
        let mut last = 0;
        if let Some(jobs) = readable(&tx, JOBS)? {
            for entry in jobs.iter().map_err(unavailable)? {
                let (id, stored) = entry.map_err(unavailable)?;
                let id = id.value();
                last = last.max(id);
                let (channel, conversation, ..) = stored.value();
                self.index(channel, conversation, JobId(id));
            }
        }
        if let Some(given) = readable(&tx, LAST_ID)?
            && let Some(id) = given.get(()).map_err(unavailable)?
        {
            last = last.max(id.value());
        }
        self.inner
            .next_job
            .store(last + 1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Puts a stored job in its lane, whatever the capacity (it is stored already).
    fn index(&self, channel: &str, conversation: &str, id: JobId) {
        let lanes: &Lanes<()> = &self.inner.lanes;
        // Unbounded: it cannot be refused.
        let _ = lanes.admit(lane_key(channel, conversation), id, (), None);
    }

    /// The stored job `id`, as it is in the file.
    fn load(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        let tx = self.read()?;
        let Some(jobs) = readable(&tx, JOBS)? else {
            return Ok(None);
        };
        Ok(jobs
            .get(id.0)
            .map_err(unavailable)?
            .map(|stored| job(id.0, stored.value())))
    }

    fn next_job_id(&self) -> JobId {
        JobId(
            self.inner
                .next_job
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        )
    }

    fn new_job(&self, job: NewJob, last_error: Option<String>) -> Job {
        Job {
            id: self.next_job_id(),
            channel: job.channel,
            conversation: job.conversation,
            delivery_id: job.delivery_id,
            body: job.body,
            attempts: 0,
            progress: None,
            last_error,
            accepted_at: SystemTime::now(),
        }
    }

    /// Keeps `job` as a dead letter (taking it out of the jobs when `from_jobs`); past the
    /// bound, drops the one accepted first.
    async fn kill(&self, job: Job, reason: &str, from_jobs: bool) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        let bound = self.inner.dead_letters;
        self.write(move |tables| {
            if from_jobs {
                tables.jobs()?.remove(job.id.0).map_err(unavailable)?;
            }
            let dead = tables.dead()?;
            dead.insert(
                job.id.0,
                (stored(&job), reason.as_str(), ms(SystemTime::now())),
            )
            .map_err(unavailable)?;
            let held = usize::try_from(dead.len().map_err(unavailable)?).unwrap_or(usize::MAX);
            for _ in bound..held {
                let Some((id, letter)) = dead.pop_first().map_err(unavailable)? else {
                    break;
                };
                let (stored, _, _) = letter.value();
                tracing::warn!(
                    job = id.value(),
                    channel = stored.0,
                    delivery_id = stored.2,
                    capacity = bound,
                    "the dead-letter list is full: dropped its oldest entry"
                );
            }
            Ok(())
        })
        .await
    }

    /// Stores `new` with whatever `also` writes in the same commit, and only then hands it
    /// to the workers; refused before anything is written when `bounded` and the queue holds
    /// its capacity.
    pub(super) async fn push_with<T, F>(
        &self,
        new: NewJob,
        bounded: bool,
        also: F,
    ) -> Result<(JobId, T), StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let capacity = self.inner.queue_capacity;
        if bounded && self.inner.lanes.counts().0 >= capacity {
            return Err(StoreError::QueueFull { capacity });
        }
        let job = self.new_job(new, None);
        let id = job.id;
        let lane = lane_key(&job.channel, &job.conversation);
        let also = self
            .write(move |tables| {
                store_new(tables, &job)?;
                also(tables)
            })
            .await?;
        // Unbounded here: pushes racing past the check above overshoot by at most the
        // writes in flight, and a stored job must be in its lane.
        let _ = self.inner.lanes.admit(lane, id, (), None);
        Ok((id, also))
    }
}

#[async_trait]
impl Queue for EmbeddedStore {
    async fn push(&self, new: NewJob) -> Result<JobId, StoreError> {
        let (id, ()) = self.push_with(new, true, |_| Ok(())).await?;
        Ok(id)
    }

    /// Past the capacity: what bounds it is the disk.
    async fn push_kept(&self, new: NewJob) -> Result<Kept, StoreError> {
        let (id, ()) = self.push_with(new, false, |_| Ok(())).await?;
        Ok(Kept::Queued(id))
    }

    async fn take(&self) -> Result<Job, StoreError> {
        loop {
            let (id, ()) = self.inner.lanes.take().await;
            match self.load(id) {
                Ok(Some(job)) => return Ok(job),
                // Not in the file (a bug, or edited by hand): nothing to do; free its lane.
                Ok(None) => {
                    tracing::warn!(job = %id, "a queued job is missing from the file");
                    self.inner.lanes.finish(id);
                }
                Err(error) => {
                    // Back in its place, to be read again when the file can be.
                    self.inner.lanes.retry(id, (), Duration::ZERO);
                    return Err(error);
                }
            }
        }
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        self.write(move |tables| {
            tables.jobs()?.remove(id.0).map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.inner.lanes.finish(id);
        Ok(())
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        let id = job.id;
        self.write(move |tables| {
            tables
                .jobs()?
                .insert(job.id.0, stored(&job))
                .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.inner.lanes.retry(id, (), after);
        Ok(())
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        let id = job.id;
        self.kill(job, reason, true).await?;
        // Frees the lane; the dead letter lives in the file, not in memory.
        self.inner.lanes.finish(id);
        Ok(())
    }

    async fn bury_new(&self, new: NewJob, reason: &str) -> Result<JobId, StoreError> {
        let job = self.new_job(new, Some(reason.to_owned()));
        let id = job.id;
        self.kill(job, reason, false).await?;
        Ok(id)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        let tx = self.read()?;
        let Some(dead) = readable(&tx, DEAD)? else {
            return Ok(Vec::new());
        };
        let mut letters = Vec::new();
        for entry in dead.iter().map_err(unavailable)? {
            let (id, value) = entry.map_err(unavailable)?;
            let (stored, reason, died) = value.value();
            letters.push(DeadLetter {
                job: job(id.value(), stored),
                reason: reason.to_owned(),
                died_at: UNIX_EPOCH + Duration::from_millis(died),
            });
        }
        Ok(letters)
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        let capacity = self.inner.queue_capacity;
        if self.inner.lanes.counts().0 >= capacity {
            return Err(StoreError::QueueFull { capacity });
        }
        let revived = self
            .write(move |tables| {
                let Some(letter) = tables.dead()?.remove(id.0).map_err(unavailable)? else {
                    return Ok(None);
                };
                let (stored_job, _, _) = letter.value();
                let mut revived = job(id.0, stored_job);
                drop(letter);
                revived.attempts = 0;
                tables
                    .jobs()?
                    .insert(id.0, stored(&revived))
                    .map_err(unavailable)?;
                Ok(Some(revived))
            })
            .await?;
        Ok(match revived {
            Some(job) => {
                self.index(&job.channel, &job.conversation, job.id);
                true
            }
            None => false,
        })
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let (queued, in_progress) = self.inner.lanes.counts();
        let tx = self.read()?;
        let dead = match readable(&tx, DEAD)? {
            Some(dead) => usize::try_from(dead.len().map_err(unavailable)?).unwrap_or(usize::MAX),
            None => 0,
        };
        Ok(QueueStats {
            queued,
            in_progress,
            dead,
            capacity: self.inner.queue_capacity,
        })
    }

    async fn checkpoint(&self, id: JobId, progress: Bytes) -> Result<(), StoreError> {
        self.write(move |tables| {
            let jobs = tables.jobs()?;
            let Some(stored_job) = jobs.get(id.0).map_err(unavailable)? else {
                return Ok(());
            };
            let mut updated = job(id.0, stored_job.value());
            drop(stored_job);
            updated.progress = Some(progress);
            jobs.insert(id.0, stored(&updated)).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        let ids = self.inner.lanes.waiting(|id, ()| id);
        let mut jobs = Vec::with_capacity(ids.len());
        for id in ids {
            jobs.extend(self.load(id)?);
        }
        Ok(jobs)
    }

    /// Ids grow with acceptance: the smallest waiting one is the oldest, and only it is read.
    async fn oldest(&self) -> Result<Option<SystemTime>, StoreError> {
        let Some(first) = self.inner.lanes.waiting(|id, ()| id).into_iter().min() else {
            return Ok(None);
        };
        Ok(self.load(first)?.map(|job| job.accepted_at))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;
    use crate::EmbeddedOptions;

    fn new_job(conversation: &str, n: u32) -> NewJob {
        NewJob::new(
            "ch",
            conversation,
            format!("{conversation}-{n}"),
            Bytes::from(format!("body {n}")),
        )
    }

    fn open(dir: &tempfile::TempDir) -> EmbeddedStore {
        EmbeddedStore::open_with(
            dir.path().join("queue.redb"),
            EmbeddedOptions::default().with_queue_capacity(3),
        )
        .expect("opens")
    }

    async fn take_id(queue: &EmbeddedStore) -> String {
        queue.take().await.expect("a job").delivery_id
    }

    #[tokio::test]
    async fn jobs_survive_a_restart_in_order_and_a_taken_job_is_taken_again() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let last_id = {
            let queue = open(&dir);
            queue.push(new_job("a", 1)).await.expect("room");
            queue.push(new_job("a", 2)).await.expect("room");
            queue.push(new_job("b", 1)).await.expect("room");
            assert!(matches!(
                queue.push(new_job("c", 1)).await,
                Err(StoreError::QueueFull { capacity: 3 })
            ));
            let a1 = queue.take().await.expect("a job");
            assert_eq!(a1.delivery_id, "a-1");
            assert_eq!(a1.body, "body 1");
            let b1 = queue.take().await.expect("a job");
            queue.finish(b1.id).await.expect("finished");
            b1.id
            // The process dies with a-1 taken and unfinished.
        };
        let queue = open(&dir);
        assert_eq!(queue.stats().await.expect("stats").queued, 2);
        assert_eq!(
            take_id(&queue).await,
            "a-1",
            "taken again after the restart"
        );
        assert!(queue.take().now_or_never().is_none(), "a-2 waits for a-1");
        let pushed = queue.push(new_job("d", 1)).await.expect("room");
        assert!(pushed > last_id, "ids never repeat across restarts");
    }

    #[tokio::test]
    async fn a_retry_keeps_its_attempts_and_progress_across_a_restart() {
        let dir = tempfile::tempdir().expect("a temp dir");
        {
            let queue = open(&dir);
            queue.push(new_job("a", 1)).await.expect("room");
            let mut job = queue.take().await.expect("a job");
            job.attempts = 2;
            job.progress = Some(Bytes::from_static(b"reply"));
            job.last_error = Some("outbox: 503".into());
            queue
                .retry(job, Duration::from_secs(3600))
                .await
                .expect("put back");
        }
        let queue = open(&dir);
        let job = queue.take().await.expect("retried at once after a restart");
        assert_eq!(job.attempts, 2);
        assert_eq!(job.progress.as_deref(), Some(&b"reply"[..]));
        assert_eq!(job.last_error.as_deref(), Some("outbox: 503"));
    }

    #[tokio::test]
    async fn a_checkpoint_survives_the_worker_that_made_it() {
        let dir = tempfile::tempdir().expect("a temp dir");
        {
            let queue = open(&dir);
            queue.push(new_job("a", 1)).await.expect("room");
            let job = queue.take().await.expect("a job");
            queue
                .checkpoint(job.id, Bytes::from_static(b"reply and state"))
                .await
                .expect("stored");
            // The process dies before the job is finished.
        }
        let queue = open(&dir);
        let job = queue.take().await.expect("taken again");
        assert_eq!(job.progress.as_deref(), Some(&b"reply and state"[..]));
        assert_eq!(job.attempts, 0);
    }

    #[tokio::test]
    async fn past_its_bound_the_oldest_dead_letter_is_dropped() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let options = EmbeddedOptions::default().with_dead_letters(2);
        let queue = EmbeddedStore::open_with(dir.path().join("q.redb"), options).expect("opens");
        let mut kept = Vec::new();
        for n in 1..=3 {
            let id = queue
                .bury_new(new_job("z", n), "queue_full")
                .await
                .expect("kept");
            kept.push(id);
        }
        let letters = queue.dead_letters().await.expect("read");
        let ids: Vec<_> = letters.iter().map(|d| d.job.id).collect();
        assert_eq!(ids, kept[1..], "the first one went");
        assert_eq!(queue.stats().await.expect("stats").dead, 2);
    }

    #[tokio::test]
    async fn dead_letters_are_stored_and_replayed() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (buried, kept) = {
            let queue = open(&dir);
            queue.push(new_job("a", 1)).await.expect("room");
            queue.push(new_job("a", 2)).await.expect("room");
            let mut job = queue.take().await.expect("a job");
            job.attempts = 5;
            let buried = job.id;
            queue.bury(job, "outbox: 400").await.expect("buried");
            // Its lane is free: a-2 comes next.
            let a2 = queue.take().await.expect("a job");
            assert_eq!(a2.delivery_id, "a-2");
            queue.finish(a2.id).await.expect("finished");
            let kept = queue
                .bury_new(new_job("z", 1), "queue_full")
                .await
                .expect("kept");
            (buried, kept)
        };
        let queue = open(&dir);
        let letters = queue.dead_letters().await.expect("read");
        let ids: Vec<_> = letters
            .iter()
            .map(|d| (d.job.id, d.reason.as_str()))
            .collect();
        assert_eq!(ids, [(buried, "outbox: 400"), (kept, "queue_full")]);
        assert_eq!(queue.stats().await.expect("stats").dead, 2);

        assert!(queue.replay(buried).await.expect("replayed"));
        assert!(!queue.replay(JobId(9999)).await.expect("none such"));
        let replayed = queue.take().await.expect("queued again");
        assert_eq!(
            (replayed.delivery_id.as_str(), replayed.attempts),
            ("a-1", 0)
        );
        assert_eq!(queue.stats().await.expect("stats").dead, 1);
    }
}
