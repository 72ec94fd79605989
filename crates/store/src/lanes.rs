//! Which job a worker may take next: per-conversation lanes (one job of a lane out at a time,
//! in order; a retried job back at its lane's front, after its backoff), under one lock where
//! every operation is O(1) or O(log n), and a [`Notify`] that wakes waiting workers.
//!
//! The lanes hold an item per job: the whole [`Job`](crate::Job) for the memory queue, or
//! nothing beyond its id for the embedded store, whose jobs stay in the file until taken, so
//! that a deep backlog costs a few bytes of memory a job.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::JobId;

/// The lanes of a queue.
#[derive(Debug)]
pub(crate) struct Lanes<T> {
    state: Mutex<State<T>>,
    wake: Notify,
}

#[derive(Debug)]
struct State<T> {
    lanes: HashMap<Box<str>, Lane<T>>,
    /// Lanes that have a job to hand out now, in the order they became ready.
    ready: VecDeque<Box<str>>,
    /// Lanes whose front job backs off until a time.
    delayed: BinaryHeap<Reverse<(Instant, u64, Box<str>)>>,
    /// Jobs handed out, and their lane.
    taken: HashMap<JobId, Box<str>>,
    /// Jobs admitted and not finished.
    queued: usize,
    next_seq: u64,
}

#[derive(Debug)]
struct Lane<T> {
    jobs: VecDeque<(JobId, T)>,
    /// A job of this lane is handed out.
    busy: bool,
    /// The front job backs off until then.
    waiting: bool,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Self {
            jobs: VecDeque::new(),
            busy: false,
            waiting: false,
        }
    }
}

/// The lane of a conversation.
pub(crate) fn lane_key(channel: &str, conversation: &str) -> Box<str> {
    format!("{channel}\n{conversation}").into_boxed_str()
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                lanes: HashMap::new(),
                ready: VecDeque::new(),
                delayed: BinaryHeap::new(),
                taken: HashMap::new(),
                queued: 0,
                next_seq: 0,
            }),
            wake: Notify::new(),
        }
    }
}

impl<T> Lanes<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding the lock leaves the lanes consistent (every change is a few
        // field writes), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds job `id` at the back of lane `key`, unless `capacity` jobs are queued already
    /// (`None`: no bound); the item back when refused.
    pub(crate) fn admit(
        &self,
        key: Box<str>,
        id: JobId,
        item: T,
        capacity: Option<usize>,
    ) -> Result<(), T> {
        let mut state = self.lock();
        if capacity.is_some_and(|capacity| state.queued >= capacity) {
            return Err(item);
        }
        let lane = state.lanes.entry(key.clone()).or_default();
        lane.jobs.push_back((id, item));
        let became_ready = !lane.busy && !lane.waiting && lane.jobs.len() == 1;
        state.queued += 1;
        if became_ready {
            state.ready.push_back(key);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Waits for a job whose lane has none out, and hands it out. Cancel-safe: nothing is
    /// taken until it returns.
    pub(crate) async fn take(&self) -> (JobId, T) {
        loop {
            // Register for a wake-up before looking, so one that comes in between is not lost.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_backoff = match self.lock().try_take() {
                Ok(job) => return job,
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

    /// Job `id` is done (finished or buried): its lane's next job may go. `false` when it was
    /// not out.
    pub(crate) fn finish(&self, id: JobId) -> bool {
        let mut state = self.lock();
        let Some(key) = state.taken.remove(&id) else {
            return false;
        };
        state.queued -= 1;
        state.release(key, &self.wake);
        true
    }

    /// Puts job `id` back at its lane's front, to go again after `after`.
    pub(crate) fn retry(&self, id: JobId, item: T, after: Duration) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(key) = state.taken.remove(&id) else {
            return;
        };
        state.next_seq += 1;
        let seq = state.next_seq;
        let Some(lane) = state.lanes.get_mut(&key) else {
            return;
        };
        lane.busy = false;
        lane.jobs.push_front((id, item));
        if after.is_zero() {
            state.ready.push_back(key);
        } else {
            lane.waiting = true;
            state
                .delayed
                .push(Reverse((Instant::now() + after, seq, key)));
        }
        // Wake a worker to hand it out, or to shorten its sleep to this backoff.
        self.wake.notify_one();
    }

    /// Drops the waiting jobs (not those out) that `unwanted` picks; returns how many.
    pub(crate) fn forget(&self, unwanted: impl Fn(&T) -> bool) -> usize {
        let mut state = self.lock();
        let mut dropped = 0;
        state.lanes.retain(|_, lane| {
            let before = lane.jobs.len();
            lane.jobs.retain(|(_, item)| !unwanted(item));
            dropped += before - lane.jobs.len();
            lane.busy || !lane.jobs.is_empty()
        });
        state.queued -= dropped;
        dropped
    }

    /// How many jobs are admitted and not done, and how many of them are out.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        (state.queued, state.taken.len())
    }

    /// How many lanes are kept (empty ones are dropped).
    #[cfg(test)]
    pub(crate) fn lane_count(&self) -> usize {
        self.lock().lanes.len()
    }

    /// The waiting jobs (not those out), in id order, each through `f`.
    pub(crate) fn waiting<U>(&self, f: impl Fn(JobId, &T) -> U) -> Vec<U> {
        let state = self.lock();
        let mut jobs: Vec<(JobId, U)> = state
            .lanes
            .values()
            .flat_map(|lane| lane.jobs.iter().map(|(id, item)| (*id, f(*id, item))))
            .collect();
        jobs.sort_by_key(|(id, _)| *id);
        jobs.into_iter().map(|(_, u)| u).collect()
    }
}

impl<T> State<T> {
    /// The job's lane is free again: hand out its next job, or drop the empty lane.
    fn release(&mut self, key: Box<str>, wake: &Notify) {
        let Some(lane) = self.lanes.get_mut(&key) else {
            return;
        };
        lane.busy = false;
        if lane.jobs.is_empty() {
            self.lanes.remove(&key);
        } else if !lane.waiting {
            self.ready.push_back(key);
            wake.notify_one();
        }
    }

    /// Hands out a ready job, after moving lanes whose backoff is over to ready. Otherwise
    /// says when the next backoff ends.
    fn try_take(&mut self) -> Result<(JobId, T), Option<Instant>> {
        let now = Instant::now();
        while let Some(Reverse((at, _, _))) = self.delayed.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, _, key))) = self.delayed.pop() else {
                break;
            };
            if let Some(lane) = self.lanes.get_mut(&key) {
                lane.waiting = false;
                if !lane.busy && !lane.jobs.is_empty() {
                    self.ready.push_back(key);
                }
            }
        }
        while let Some(key) = self.ready.pop_front() {
            let Some(lane) = self.lanes.get_mut(&key) else {
                continue;
            };
            let Some((id, item)) = lane.jobs.pop_front() else {
                continue;
            };
            lane.busy = true;
            self.taken.insert(id, key);
            return Ok((id, item));
        }
        Err(self.delayed.peek().map(|Reverse((at, _, _))| *at))
    }
}
