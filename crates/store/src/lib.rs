//! Storage for botwire: what it remembers between deliveries.
//!
//! - [`Ledger`]: which deliveries were seen and what was answered, so a duplicate delivery gets
//!   the same answer and its handler runs once.
//! - [`StateStore`]: each conversation's bot state, saved with compare-and-swap on a version,
//!   for platforms that do not carry the state themselves.
//! - [`Queue`]: deliveries of via-API platforms, acknowledged and waiting for a worker, in
//!   per-conversation lanes; with retries and a dead-letter list that can be replayed.
//! - [`Timers`]: when each conversation falls due to leave a state with a timeout.
//!
//! All are async and fallible, and name no backend type, so durable and networked backends
//! implement them without changing callers. [`MemoryLedger`], [`MemoryStateStore`] and
//! [`MemoryQueue`] keep everything in process.

#[cfg(feature = "embedded")]
mod embedded;
mod error;
mod intake;
mod key;
mod lanes;
mod ledger;
mod memory_ledger;
mod memory_queue;
mod memory_state;
mod memory_timers;
mod queue;
mod state;
mod timers;

#[cfg(feature = "embedded")]
pub use embedded::{EmbeddedOptions, EmbeddedStore};
pub use error::StoreError;

/// How many jobs the embedded store queues by default for senders that retry: waiting jobs
/// stay in its file, memory holds only their ids. (Here, not beside the store, so that
/// settings can size a queue in a build without it.)
pub const EMBEDDED_QUEUE_CAPACITY: usize = 1_000_000;

pub use intake::Intake;
pub use key::{ConversationKey, DeliveryKey};
pub use ledger::{CachedResponse, Claim, ClaimToken, Ledger, Waited};
pub use memory_ledger::{LedgerLimits, MemoryLedger};
pub use memory_queue::{DEFAULT_CAPACITY, DEFAULT_DEAD_LETTERS, MemoryQueue};
pub use memory_state::MemoryStateStore;
pub use memory_timers::MemoryTimers;
pub use queue::{DeadLetter, Job, JobId, KEPT_FULL, Kept, NewJob, Queue, QueueStats};
pub use state::{StateStore, Versioned};
pub use timers::{DueTimer, Timer, Timers, epoch_ms, from_epoch_ms};
