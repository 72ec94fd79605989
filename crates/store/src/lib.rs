//! Storage for botwire: what it remembers between deliveries.
//!
//! - [`Ledger`]: which deliveries were seen and what was answered, so a duplicate delivery gets
//!   the same answer and its handler runs once.
//! - [`StateStore`]: each conversation's bot state, saved with compare-and-swap on a version,
//!   for platforms that do not carry the state themselves.
//!
//! Both are async and fallible, and name no backend type, so durable and networked backends
//! implement them without changing callers. [`MemoryLedger`] and [`MemoryStateStore`] keep
//! everything in process on `dashmap`.

mod error;
mod key;
mod ledger;
mod memory_ledger;
mod memory_state;
mod state;

pub use error::StoreError;
pub use key::{ConversationKey, DeliveryKey};
pub use ledger::{CachedResponse, Claim, ClaimToken, Ledger, Waited};
pub use memory_ledger::{LedgerLimits, MemoryLedger};
pub use memory_state::MemoryStateStore;
pub use state::{StateStore, Versioned};
