//! Storage for botwire: what it remembers between deliveries.
//!
//! - [`Ledger`]: which deliveries were seen and what was answered, so a duplicate delivery gets
//!   the same answer and its handler runs once.
//! - [`StateStore`]: each conversation's bot state, saved with compare-and-swap on a version,
//!   for platforms that do not carry the state themselves.
//! - [`Queue`]: deliveries of via-API platforms, acknowledged and waiting for a worker, in
//!   per-conversation lanes; with retries and a dead-letter list that can be replayed.
//!
//! All are async and fallible, and name no backend type, so durable and networked backends
//! implement them without changing callers. [`MemoryLedger`], [`MemoryStateStore`] and
//! [`MemoryQueue`] keep everything in process.

mod embedded;
mod error;
mod intake;
mod key;
mod lanes;
mod ledger;
mod memory_ledger;
mod memory_queue;
mod memory_state;
mod queue;
mod state;

pub use embedded::{EMBEDDED_QUEUE_CAPACITY, EmbeddedOptions, EmbeddedStore};
pub use error::StoreError;
pub use intake::Intake;
pub use key::{ConversationKey, DeliveryKey};
pub use ledger::{CachedResponse, Claim, ClaimToken, Ledger, Waited};
pub use memory_ledger::{LedgerLimits, MemoryLedger};
pub use memory_queue::{DEFAULT_CAPACITY, DEFAULT_DEAD_LETTERS, MemoryQueue};
pub use memory_state::MemoryStateStore;
pub use queue::{DeadLetter, Job, JobId, KEPT_FULL, Kept, NewJob, Queue, QueueStats};
pub use state::{StateStore, Versioned};
