//! The delivery ledger: claim a delivery once, remember its answer.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{DeliveryKey, StoreError};

/// Remembers deliveries so each runs once and duplicates get the first answer byte for byte.
///
/// The life of an entry: [`claim`](Ledger::claim) makes it in flight, with a lease; the claimer
/// then either [`complete`](Ledger::complete)s it with the response to cache for a TTL, or
/// [`release`](Ledger::release)s it on failure so the sender's retry runs again. A claim whose
/// lease ran out (its worker died) can be claimed anew.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Claims `key` for `lease`: [`Claim::New`] if nobody has it (or its lease or TTL ran out),
    /// [`Claim::InFlight`] if someone is working on it, [`Claim::Done`] with the cached response.
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError>;

    /// Marks the claim done and caches `response` for `ttl`; wakes everyone waiting on it.
    ///
    /// Fails with [`StoreError::ClaimLost`] when `token` no longer holds the claim.
    async fn complete(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Gives the claim up, so the next delivery of `key` runs anew; wakes everyone waiting on it.
    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError>;

    /// Waits up to `timeout` for an in-flight claim on `key` to end.
    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError>;

    /// Drops done entries whose TTL has passed; returns how many. Backends whose storage
    /// expires entries by itself may do nothing.
    async fn purge_expired(&self) -> Result<usize, StoreError>;

    /// Checks that the backend is reachable (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The outcome of [`Ledger::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the claim and must complete or release it.
    New(ClaimToken),
    /// Another caller holds the claim; [`Ledger::wait`] for its outcome.
    InFlight,
    /// The delivery was handled; here is what was answered.
    Done(CachedResponse),
}

/// The outcome of [`Ledger::wait`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    /// The claim completed with this response.
    Done(CachedResponse),
    /// The claim was released (or is gone): claim again to run the delivery.
    Released,
    /// The claim is still in flight after the timeout.
    TimedOut,
}

/// Proof of holding a claim; opaque to callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClaimToken(u64);

impl ClaimToken {
    /// A token from a backend's own value.
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The backend's value.
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// A response exactly as it was sent, to send again for a duplicate delivery. Always a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body bytes.
    pub body: Bytes,
}

impl CachedResponse {
    /// A response with `status` and `body`.
    pub fn new(status: u16, body: Bytes) -> Self {
        Self { status, body }
    }
}

/// Waits up to `timeout` for a claim held in this process to end. `observe` tells how the
/// delivery stands now: how it ended, or the notifier its holder signals when it ends.
pub(crate) async fn wait_for_end<F>(
    mut observe: F,
    timeout: std::time::Duration,
) -> Result<Waited, StoreError>
where
    F: FnMut() -> Result<Result<Waited, std::sync::Arc<tokio::sync::Notify>>, StoreError>,
{
    let until = tokio::time::Instant::now() + timeout;
    loop {
        let ended = match observe()? {
            Ok(outcome) => return Ok(outcome),
            Err(ended) => ended,
        };
        let notified = ended.notified();
        tokio::pin!(notified);
        // Register before looking again, so an end between the two looks is not missed.
        notified.as_mut().enable();
        if let Ok(outcome) = observe()? {
            return Ok(outcome);
        }
        if tokio::time::timeout_at(until, notified).await.is_err() {
            return Ok(Waited::TimedOut);
        }
    }
}
