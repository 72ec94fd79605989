//! [`Intake`]: a store that keeps both the ledger and the queue writes a via-API delivery's job
//! and the acknowledgement that answers it in one durable write.

use std::time::Duration;

use async_trait::async_trait;

use crate::{CachedResponse, ClaimToken, DeliveryKey, JobId, NewJob, StoreError};

/// Accepting a via-API delivery at once: with separate [`Queue::push`](crate::Queue::push) and
/// [`Ledger::complete`](crate::Ledger::complete) calls, a durable store commits twice before
/// the platform gets its answer; a store that holds both does it in one commit.
#[async_trait]
pub trait Intake: Send + Sync + 'static {
    /// Queues `job` and completes the claim `token` holds on `key` with `ack`, remembered for
    /// `ttl`: both are durable when this returns, or neither was written.
    ///
    /// # Errors
    /// [`StoreError::QueueFull`] when the queue holds its capacity, and
    /// [`StoreError::ClaimLost`] when `token` no longer holds `key`, both before anything is
    /// written; [`StoreError::Unavailable`] when the store fails.
    async fn push_acknowledged(
        &self,
        job: NewJob,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        ack: CachedResponse,
        ttl: Duration,
    ) -> Result<JobId, StoreError>;
}
