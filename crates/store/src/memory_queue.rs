//! [`MemoryQueue`]: the [`Queue`] in process, forgotten on restart.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;

use crate::StoreError;
use crate::lanes::{Lanes, lane_key};
use crate::queue::{DeadLetter, Job, JobId, KEPT_FULL, Kept, NewJob, Queue, QueueStats};

/// How many jobs a [`MemoryQueue`] accepts by default.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// How many dead letters it keeps by default (the oldest are dropped past it).
pub const DEFAULT_DEAD_LETTERS: usize = 10_000;

/// A queue in memory: per-conversation [`Lanes`] of whole jobs, and a list of dead letters.
#[derive(Debug)]
pub struct MemoryQueue {
    lanes: Lanes<Job>,
    dead: Mutex<VecDeque<DeadLetter>>,
    next_id: AtomicU64,
    capacity: usize,
    dead_capacity: usize,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_DEAD_LETTERS)
    }
}

impl MemoryQueue {
    /// A queue accepting up to `capacity` jobs and keeping up to `dead_letters` dead letters.
    pub fn new(capacity: usize, dead_letters: usize) -> Self {
        Self {
            lanes: Lanes::default(),
            dead: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            capacity,
            dead_capacity: dead_letters,
        }
    }

    /// Queues a job that already has its id (a durable backend's, numbered and stored by
    /// it), without the capacity check: the backend checked before storing it. The Redis
    /// store uses a `MemoryQueue` as the index of which job a worker may take next.
    pub fn admit(&self, job: Job) -> JobId {
        let id = job.id;
        self.next_id.fetch_max(id.0, Ordering::Relaxed);
        let key = lane_key(&job.channel, &job.conversation);
        // Unbounded: it cannot be refused.
        let _ = self.lanes.admit(key, id, job, None);
        id
    }

    /// Drops the waiting jobs (not those a worker holds) that `unwanted` picks; returns how
    /// many. A durable backend calls it when jobs become another index's to hand out.
    pub fn forget(&self, unwanted: impl Fn(&Job) -> bool) -> usize {
        self.lanes.forget(unwanted)
    }

    fn dead(&self) -> MutexGuard<'_, VecDeque<DeadLetter>> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keep_dead(&self, job: Job, reason: &str) {
        let mut dead = self.dead();
        if dead.len() >= self.dead_capacity
            && let Some(dropped) = dead.pop_front()
        {
            tracing::warn!(
                job = %dropped.job.id,
                channel = %dropped.job.channel,
                delivery_id = %dropped.job.delivery_id,
                "the dead-letter list is full: dropped its oldest entry"
            );
        }
        dead.push_back(DeadLetter {
            job,
            reason: reason.to_owned(),
            died_at: SystemTime::now(),
        });
    }

    /// A new job for `new`, numbered.
    fn number(&self, new: NewJob) -> Job {
        let id = JobId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        Job::accepted(id, new, SystemTime::now())
    }

    /// Admits a new job within `capacity` jobs; the job back when refused.
    #[allow(clippy::result_large_err)] // refused is the rare path; the job moves back out
    fn push_within(&self, new: NewJob, capacity: usize) -> Result<JobId, Job> {
        let job = self.number(new);
        let id = job.id;
        let key = lane_key(&job.channel, &job.conversation);
        self.lanes.admit(key, id, job, Some(capacity)).map(|()| id)
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        self.push_within(job, self.capacity)
            .map_err(|_| StoreError::QueueFull {
                capacity: self.capacity,
            })
    }

    /// Up to twice the capacity: a process's memory is no place for an unbounded backlog
    /// (a durable store keeps it on disk). Past that, the delivery is a dead letter.
    async fn push_kept(&self, job: NewJob) -> Result<Kept, StoreError> {
        match self.push_within(job, self.capacity.saturating_mul(2)) {
            Ok(id) => Ok(Kept::Queued(id)),
            Err(mut job) => {
                let id = job.id;
                job.last_error = Some(KEPT_FULL.to_owned());
                self.keep_dead(job, KEPT_FULL);
                Ok(Kept::Buried(id))
            }
        }
    }

    async fn take(&self) -> Result<Job, StoreError> {
        Ok(self.lanes.take().await.1)
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        self.lanes.finish(id);
        Ok(())
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        self.lanes.retry(job.id, job, after);
        Ok(())
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        self.lanes.finish(job.id);
        self.keep_dead(job, reason);
        Ok(())
    }

    async fn bury_new(&self, job: NewJob, reason: &str) -> Result<JobId, StoreError> {
        let mut job = self.number(job);
        let id = job.id;
        job.last_error = Some(reason.to_owned());
        self.keep_dead(job, reason);
        Ok(id)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.dead().iter().cloned().collect())
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        let mut dead = self.dead();
        let Some(position) = dead.iter().position(|d| d.job.id == id) else {
            return Ok(false);
        };
        if self.lanes.counts().0 >= self.capacity {
            return Err(StoreError::QueueFull {
                capacity: self.capacity,
            });
        }
        let Some(letter) = dead.remove(position) else {
            return Ok(false);
        };
        drop(dead);
        let mut job = letter.job;
        job.attempts = 0;
        self.admit(job);
        Ok(true)
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let (queued, in_progress) = self.lanes.counts();
        Ok(QueueStats {
            queued,
            in_progress,
            dead: self.dead().len(),
            capacity: self.capacity,
        })
    }

    async fn checkpoint(&self, _id: JobId, _progress: Bytes) -> Result<(), StoreError> {
        // Nothing here outlives the worker; its retry carries the progress.
        Ok(())
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        Ok(self.lanes.waiting(|_, job| job.clone()))
    }

    async fn oldest(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self
            .lanes
            .waiting(|_, job| job.accepted_at)
            .into_iter()
            .min())
    }
}

#[cfg(test)]
mod tests;
