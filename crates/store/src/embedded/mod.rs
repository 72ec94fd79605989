//! [`EmbeddedStore`]: botwire's memory on one crash-safe file (redb), durable before anything
//! is acknowledged.
//!
//! Writes go to one writer thread. It takes every write waiting, applies them in one
//! transaction and commits once (one fsync), then answers each: deliveries that arrive
//! together share the cost of durability (group commit). A write is answered only once its
//! commit is on disk. Compare-and-swap and other read-modify-write steps run inside that
//! transaction, so they are atomic with respect to each other. Reads run in read transactions
//! of their own, beside the writer.

mod access;
mod data;
mod intake;
mod ledger;
mod ledger_index;
mod options;
mod queue;
mod state;
mod store;
mod tables;
mod timers;
mod writer;

pub use options::EmbeddedOptions;
pub use store::EmbeddedStore;
