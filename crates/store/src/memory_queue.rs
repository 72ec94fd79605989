//! [`MemoryQueue`]: the [`Queue`] in process, forgotten on restart.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::StoreError;
use crate::queue::{DeadLetter, Job, JobId, NewJob, Queue, QueueStats};

/// How many jobs a [`MemoryQueue`] accepts by default.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// How many dead letters it keeps by default (the oldest are dropped past it).
pub const DEFAULT_DEAD_LETTERS: usize = 10_000;

/// A queue in memory: per-conversation lanes under one lock (every operation is O(1) or
/// O(log n) while holding it), and a [`Notify`] that wakes waiting workers.
#[derive(Debug)]
pub struct MemoryQueue {
    inner: Mutex<Inner>,
    wake: Notify,
    capacity: usize,
    dead_capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    lanes: HashMap<String, Lane>,
    /// Lanes that have a job to hand out now, in the order they became ready.
    ready: VecDeque<String>,
    /// Lanes whose front job backs off until a time.
    delayed: BinaryHeap<Reverse<(Instant, u64, String)>>,
    /// Jobs handed out, and their lane.
    taken: HashMap<JobId, String>,
    /// Jobs accepted and not finished.
    queued: usize,
    dead: VecDeque<DeadLetter>,
    next_id: u64,
    next_seq: u64,
}

#[derive(Debug, Default)]
struct Lane {
    jobs: VecDeque<Job>,
    /// A job of this lane is handed out.
    busy: bool,
    /// The front job backs off until then.
    waiting: bool,
}

fn lane_key(channel: &str, conversation: &str) -> String {
    format!("{channel}\n{conversation}")
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
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            capacity,
            dead_capacity: dead_letters,
        }
    }

    /// Queues a job that already has its id (a durable backend's, numbered and stored by
    /// it), without the capacity check: the backend checked before storing it. Durable
    /// backends use a `MemoryQueue` as the index of which job a worker may take next.
    pub fn admit(&self, job: Job) -> JobId {
        let mut inner = self.lock();
        inner.next_id = inner.next_id.max(job.id.0);
        self.enqueue(&mut inner, job)
    }

    /// Drops the waiting jobs (not those a worker holds) that `unwanted` picks; returns how
    /// many. A durable backend calls it when jobs become another index's to hand out.
    pub fn forget(&self, unwanted: impl Fn(&Job) -> bool) -> usize {
        let mut inner = self.lock();
        let mut dropped = 0;
        inner.lanes.retain(|_, lane| {
            let before = lane.jobs.len();
            lane.jobs.retain(|job| !unwanted(job));
            dropped += before - lane.jobs.len();
            lane.busy || !lane.jobs.is_empty()
        });
        inner.queued -= dropped;
        dropped
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the lanes consistent (every change is a few
        // field writes), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(&self, inner: &mut Inner, job: Job) -> JobId {
        let id = job.id;
        let key = lane_key(&job.channel, &job.conversation);
        let lane = inner.lanes.entry(key.clone()).or_default();
        lane.jobs.push_back(job);
        let became_ready = !lane.busy && !lane.waiting && lane.jobs.len() == 1;
        inner.queued += 1;
        if became_ready {
            inner.ready.push_back(key);
            self.wake.notify_one();
        }
        id
    }

    /// The job's lane is free again: hand out its next job, or drop the empty lane.
    fn release_lane(&self, inner: &mut Inner, key: String) {
        let Some(lane) = inner.lanes.get_mut(&key) else {
            return;
        };
        lane.busy = false;
        if lane.jobs.is_empty() {
            inner.lanes.remove(&key);
        } else if !lane.waiting {
            inner.ready.push_back(key);
            self.wake.notify_one();
        }
    }

    fn keep_dead(&self, inner: &mut Inner, job: Job, reason: &str) {
        if inner.dead.len() >= self.dead_capacity
            && let Some(dropped) = inner.dead.pop_front()
        {
            tracing::warn!(
                job = %dropped.job.id,
                channel = %dropped.job.channel,
                delivery_id = %dropped.job.delivery_id,
                "the dead-letter list is full: dropped its oldest entry"
            );
        }
        inner.dead.push_back(DeadLetter {
            job,
            reason: reason.to_owned(),
            died_at: SystemTime::now(),
        });
    }

    /// Hands out a ready job, after moving lanes whose backoff is over to ready. Otherwise
    /// says when the next backoff ends.
    fn try_take(inner: &mut Inner) -> Result<Job, Option<Instant>> {
        let now = Instant::now();
        while let Some(Reverse((at, _, _))) = inner.delayed.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, key))) = inner.delayed.pop() else {
                break;
            };
            if let Some(lane) = inner.lanes.get_mut(&key) {
                lane.waiting = false;
                if !lane.busy && !lane.jobs.is_empty() {
                    inner.ready.push_back(key);
                }
            }
        }
        while let Some(key) = inner.ready.pop_front() {
            let Some(lane) = inner.lanes.get_mut(&key) else {
                continue;
            };
            let Some(job) = lane.jobs.pop_front() else {
                continue;
            };
            lane.busy = true;
            inner.taken.insert(job.id, key);
            return Ok(job);
        }
        Err(inner.delayed.peek().map(|Reverse((at, _, _))| *at))
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        let mut inner = self.lock();
        if inner.queued >= self.capacity {
            return Err(StoreError::QueueFull {
                capacity: self.capacity,
            });
        }
        inner.next_id += 1;
        let job = Job {
            id: JobId(inner.next_id),
            channel: job.channel,
            conversation: job.conversation,
            delivery_id: job.delivery_id,
            body: job.body,
            attempts: 0,
            progress: None,
            last_error: None,
            accepted_at: SystemTime::now(),
        };
        Ok(self.enqueue(&mut inner, job))
    }

    async fn take(&self) -> Result<Job, StoreError> {
        loop {
            // Register for a wake-up before looking, so one that comes in between is not lost.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_backoff = match Self::try_take(&mut self.lock()) {
                Ok(job) => return Ok(job),
                Err(next) => next,
            };
            match next_backoff {
                Some(at) => {
                    tokio::select! {
                        () = notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(key) = inner.taken.remove(&id) {
            inner.queued -= 1;
            self.release_lane(&mut inner, key);
        }
        Ok(())
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(key) = inner.taken.remove(&job.id) else {
            return Ok(());
        };
        inner.next_seq += 1;
        let seq = inner.next_seq;
        let Some(lane) = inner.lanes.get_mut(&key) else {
            return Ok(());
        };
        lane.busy = false;
        lane.jobs.push_front(job);
        if after.is_zero() {
            inner.ready.push_back(key);
        } else {
            lane.waiting = true;
            inner
                .delayed
                .push(Reverse((Instant::now() + after, seq, key)));
        }
        // Wake a worker to hand it out, or to shorten its sleep to this backoff.
        self.wake.notify_one();
        Ok(())
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(key) = inner.taken.remove(&job.id) {
            inner.queued -= 1;
            self.release_lane(&mut inner, key);
        }
        self.keep_dead(&mut inner, job, reason);
        Ok(())
    }

    async fn bury_new(&self, job: NewJob, reason: &str) -> Result<JobId, StoreError> {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = JobId(inner.next_id);
        let job = Job {
            id,
            channel: job.channel,
            conversation: job.conversation,
            delivery_id: job.delivery_id,
            body: job.body,
            attempts: 0,
            progress: None,
            last_error: Some(reason.to_owned()),
            accepted_at: SystemTime::now(),
        };
        self.keep_dead(&mut inner, job, reason);
        Ok(id)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.lock().dead.iter().cloned().collect())
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(position) = inner.dead.iter().position(|d| d.job.id == id) else {
            return Ok(false);
        };
        if inner.queued >= self.capacity {
            return Err(StoreError::QueueFull {
                capacity: self.capacity,
            });
        }
        let Some(dead) = inner.dead.remove(position) else {
            return Ok(false);
        };
        let mut job = dead.job;
        job.attempts = 0;
        self.enqueue(&mut inner, job);
        Ok(true)
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        let inner = self.lock();
        Ok(QueueStats {
            queued: inner.queued,
            in_progress: inner.taken.len(),
            dead: inner.dead.len(),
            capacity: self.capacity,
        })
    }

    async fn checkpoint(&self, _id: JobId, _progress: Bytes) -> Result<(), StoreError> {
        // Nothing here outlives the worker; its retry carries the progress.
        Ok(())
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        let inner = self.lock();
        let mut jobs: Vec<Job> = inner
            .lanes
            .values()
            .flat_map(|lane| lane.jobs.iter().cloned())
            .collect();
        jobs.sort_by_key(|job| job.id);
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests;
