//! What this instance holds of the queue: its settings, the partitions it owns and how far it
//! has read them, and the local index of their jobs.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use botwire_store::MemoryQueue;
use tokio::time::Instant;

use super::ids::entry_of;

/// The queue's settings and what this instance holds.
pub(crate) struct QueueState {
    /// This instance, as the owner of partitions.
    pub(super) instance: String,
    pub(super) partitions: u32,
    pub(super) capacity: usize,
    /// Dead letters kept at most.
    pub(super) dead_letters: usize,
    /// How long a partition stays this instance's after its last renewal.
    pub(super) lease: Duration,
    /// Jobs of owned partitions, in lanes.
    pub(super) local: MemoryQueue,
    pub(super) owned: Mutex<HashMap<u32, Owned>>,
    /// One reader of the streams at a time, so that an entry is never read twice (a read
    /// that started before another finished would start from an older position).
    pub(super) reading: tokio::sync::Mutex<()>,
    /// When the streams were last looked at: the workers waiting together look once per
    /// period, not once each.
    pub(super) looked: Mutex<Option<Instant>>,
    /// Partitions pushed to since the last read, for the next reader to read.
    pub(super) unread: Mutex<HashSet<u32>>,
    /// Jobs a worker of this instance holds, per partition: a partition is handed to another
    /// instance only when none is held.
    pub(super) taken: Mutex<HashMap<u32, usize>>,
}

pub(super) struct Owned {
    pub(super) renewed: Instant,
    /// Whether the group exists and the pending entries of other consumers are claimed.
    pub(super) adopted: bool,
    /// Where reading this instance's own pending entries goes on (`Some("0")` at first);
    /// `None` once they are all read, and only new entries (`>`) are left.
    pub(super) history: Option<String>,
    /// Entries in the local index, so that none is admitted twice.
    pub(super) loaded: HashSet<String>,
}

impl Owned {
    pub(super) fn new() -> Self {
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
            dead_letters: options.dead_letters,
            lease: options.lease,
            local: MemoryQueue::new(options.queue_capacity.max(1), 0),
            owned: Mutex::new(HashMap::new()),
            reading: tokio::sync::Mutex::new(()),
            looked: Mutex::new(None),
            unread: Mutex::new(HashSet::new()),
            taken: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn owned(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Owned>> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn unread(&self) -> std::sync::MutexGuard<'_, HashSet<u32>> {
        self.unread.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a job of `partition` taken (`+1`) or given back (`-1`).
    pub(super) fn count_taken(&self, partition: u32, change: isize) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        let count = taken.entry(partition).or_default();
        *count = count.saturating_add_signed(change);
    }

    pub(super) fn held_by_workers(&self, partition: u32) -> bool {
        let taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        taken.get(&partition).is_some_and(|n| *n > 0)
    }

    /// Hands `partition` over, unless a worker here holds one of its jobs (`force`: the lease
    /// is gone anyway). Its waiting jobs are dropped here: the new owner reads them again.
    /// Whether it was let go.
    pub(super) fn let_go(&self, partition: u32, force: bool) -> bool {
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
    pub(super) fn take_from(&self, partition: u32) -> bool {
        let owned = self.owned();
        let ours = owned.contains_key(&partition);
        if ours {
            self.count_taken(partition, 1);
        }
        ours
    }
}
