//! How much an embedded store keeps.

use crate::{DEFAULT_DEAD_LETTERS, EMBEDDED_QUEUE_CAPACITY, LedgerLimits};

/// How much an [`EmbeddedStore`](super::EmbeddedStore) keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmbeddedOptions {
    /// Done deliveries the ledger keeps at most (those that expire first go first).
    pub ledger_capacity: usize,
    /// Acknowledged via-API deliveries waiting at most (default 1,000,000); past it, `push`
    /// fails with [`StoreError::QueueFull`] (the sender retries later), and `push_kept`
    /// still queues (for a sender that never resends: what bounds it then is the disk).
    /// Waiting jobs stay in the file; memory holds their ids and lanes.
    pub queue_capacity: usize,
    /// Dead letters kept at most (default 10,000); past it, the one accepted first is
    /// dropped, with a warning naming it.
    pub dead_letters: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            ledger_capacity: LedgerLimits::default().capacity,
            queue_capacity: EMBEDDED_QUEUE_CAPACITY,
            dead_letters: DEFAULT_DEAD_LETTERS,
        }
    }
}

impl EmbeddedOptions {
    /// Sets [`ledger_capacity`](Self::ledger_capacity).
    #[must_use]
    pub fn with_ledger_capacity(mut self, entries: usize) -> Self {
        self.ledger_capacity = entries;
        self
    }

    /// Sets [`dead_letters`](Self::dead_letters).
    #[must_use]
    pub fn with_dead_letters(mut self, letters: usize) -> Self {
        self.dead_letters = letters;
        self
    }

    /// Sets [`queue_capacity`](Self::queue_capacity).
    #[must_use]
    pub fn with_queue_capacity(mut self, jobs: usize) -> Self {
        self.queue_capacity = jobs;
        self
    }
}
