//! Stores and outboxes that fail on demand: wrap a real one in [`Faulty`], keep its
//! [`Faults`] handle, and switch faults on and off while a server runs.
//!
//! ```
//! use botwire_store::{Ledger, MemoryLedger};
//! use botwire_testkit::faults::{Fault, Faulty};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (ledger, faults) = Faulty::new(MemoryLedger::default());
//! faults.set(Fault::Fail);
//! assert!(ledger.ping().await.is_err());
//! faults.heal();
//! assert!(ledger.ping().await.is_ok());
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use botwire_platforms::{Outbox, OutboxError, Outgoing};
use botwire_store::{
    CachedResponse, Claim, ClaimToken, ConversationKey, DeadLetter, DeliveryKey, DueTimer, Job,
    JobId, Kept, Ledger, NewJob, Queue, QueueStats, StateStore, StoreError, Timer, Timers,
    Versioned, Waited,
};
use tokio::sync::watch;

/// What a wrapped store does on its next calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// Passes every call through.
    #[default]
    None,
    /// Fails every call, as a store that is down.
    Fail,
    /// Does not answer while the fault lasts, as a store that stalls: the caller's timeout
    /// ends the call, or the call goes through once the fault is healed.
    Hang,
    /// Fails every `n`-th call and passes the others through.
    FailEvery(u64),
    /// Fails the next `n` calls, then passes every call through.
    FailTimes(u64),
}

/// The switch of one [`Faulty`] wrapper. Cheap to clone; every clone switches the same wrapper.
#[derive(Debug, Clone)]
pub struct Faults {
    fault: Arc<watch::Sender<Fault>>,
    /// Failures left of a [`Fault::FailTimes`].
    left: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    injected: Arc<AtomicU64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            fault: Arc::new(watch::Sender::new(Fault::None)),
            left: Arc::default(),
            calls: Arc::default(),
            injected: Arc::default(),
        }
    }
}

impl Faults {
    /// Applies `fault` from the next call on (and releases calls hanging, unless it is
    /// [`Fault::Hang`] again).
    pub fn set(&self, fault: Fault) {
        if let Fault::FailTimes(n) = fault {
            self.left.store(n, Ordering::SeqCst);
        }
        self.fault.send_replace(fault);
    }

    /// Passes calls through again.
    pub fn heal(&self) {
        self.set(Fault::None);
    }

    /// How many calls were made through the wrapper.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// How many calls failed or hung on purpose.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    /// Applies the current fault to one call: `Err` to fail it; a hang waits until the fault
    /// changes, then applies the new one.
    async fn check(&self) -> Result<(), String> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fault = self.fault.subscribe();
        if *fault.borrow_and_update() == Fault::Hang {
            self.injected.fetch_add(1, Ordering::SeqCst);
            // The sender lives as long as `self`, so this ends only when the fault changes.
            let _ = fault.wait_for(|f| *f != Fault::Hang).await;
        }
        let current = *fault.borrow();
        let fail = match current {
            Fault::None | Fault::Hang => false,
            Fault::Fail => true,
            Fault::FailEvery(every) => every > 0 && n.is_multiple_of(every),
            Fault::FailTimes(_) => self
                .left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok(),
        };
        if fail {
            self.injected.fetch_add(1, Ordering::SeqCst);
            return Err(format!("injected fault on call {n}"));
        }
        Ok(())
    }

    async fn store(&self) -> Result<(), StoreError> {
        self.check()
            .await
            .map_err(|message| StoreError::Unavailable {
                backend: "faulty",
                source: message.into(),
            })
    }
}

/// A store or outbox with faults injected before each call reaches `inner`.
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    faults: Faults,
}

impl<T> Faulty<T> {
    /// Wraps `inner`; the returned [`Faults`] switches it.
    pub fn new(inner: T) -> (Self, Faults) {
        let faults = Faults::default();
        (
            Self {
                inner,
                faults: faults.clone(),
            },
            faults,
        )
    }
}

#[async_trait]
impl<L: Ledger> Ledger for Faulty<L> {
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.faults.store().await?;
        self.inner.claim(key, lease).await
    }

    async fn complete(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.complete(key, token, response, ttl).await
    }

    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.release(key, token).await
    }

    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError> {
        self.faults.store().await?;
        self.inner.wait(key, timeout).await
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        self.faults.store().await?;
        self.inner.purge_expired().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.ping().await
    }
}

#[async_trait]
impl<S: StateStore> StateStore for Faulty<S> {
    async fn load(&self, key: &ConversationKey<'_>) -> Result<Option<Versioned>, StoreError> {
        self.faults.store().await?;
        self.inner.load(key).await
    }

    async fn save(
        &self,
        key: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.faults.store().await?;
        self.inner.save(key, state, expected).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.ping().await
    }
}

#[async_trait]
impl<T: Timers> Timers for Faulty<T> {
    async fn set(&self, key: &ConversationKey<'_>, timer: &Timer) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.set(key, timer).await
    }

    async fn get(&self, key: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError> {
        self.faults.store().await?;
        self.inner.get(key).await
    }

    async fn remove(
        &self,
        key: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        self.faults.store().await?;
        self.inner.remove(key, generation).await
    }

    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        self.faults.store().await?;
        self.inner.due(now, limit).await
    }

    async fn claim(
        &self,
        key: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        self.faults.store().await?;
        self.inner.claim(key, generation, now, until).await
    }
}

#[async_trait]
impl<Q: Queue> Queue for Faulty<Q> {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        self.faults.store().await?;
        self.inner.push(job).await
    }

    async fn take(&self) -> Result<Job, StoreError> {
        self.faults.store().await?;
        self.inner.take().await
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.finish(id).await
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.retry(job, after).await
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.bury(job, reason).await
    }

    async fn bury_new(&self, job: NewJob, reason: &str) -> Result<JobId, StoreError> {
        self.faults.store().await?;
        self.inner.bury_new(job, reason).await
    }

    async fn push_kept(&self, job: NewJob) -> Result<Kept, StoreError> {
        self.faults.store().await?;
        self.inner.push_kept(job).await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.faults.store().await?;
        self.inner.dead_letters().await
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        self.faults.store().await?;
        self.inner.replay(id).await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.faults.store().await?;
        self.inner.stats().await
    }

    async fn checkpoint(&self, id: JobId, progress: bytes::Bytes) -> Result<(), StoreError> {
        self.faults.store().await?;
        self.inner.checkpoint(id, progress).await
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        self.faults.store().await?;
        self.inner.pending().await
    }
}

#[async_trait]
impl<O: Outbox> Outbox for Faulty<O> {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        self.faults.check().await.map_err(OutboxError::transient)?;
        self.inner.send(outgoing).await
    }
}

#[cfg(test)]
mod tests {
    use botwire_store::{MemoryLedger, MemoryStateStore};

    use super::*;

    #[tokio::test]
    async fn fails_every_nth_call_and_counts() {
        let (states, faults) = Faulty::new(MemoryStateStore::default());
        faults.set(Fault::FailEvery(3));
        let results: Vec<bool> = futures_util::future::join_all((0..6).map(|_| states.ping()))
            .await
            .iter()
            .map(Result::is_ok)
            .collect();
        assert_eq!(results, [true, true, false, true, true, false]);
        assert_eq!((faults.calls(), faults.injected()), (6, 2));

        faults.set(Fault::FailTimes(2));
        let results: Vec<bool> = futures_util::future::join_all((0..4).map(|_| states.ping()))
            .await
            .iter()
            .map(Result::is_ok)
            .collect();
        assert_eq!(results, [false, false, true, true]);
    }

    #[tokio::test]
    async fn hangs_while_the_fault_lasts() {
        let (ledger, faults) = Faulty::new(MemoryLedger::default());
        faults.set(Fault::Hang);
        let hung = tokio::time::timeout(Duration::from_millis(10), ledger.ping()).await;
        assert!(hung.is_err(), "a hanging store does not answer");

        let waiting = tokio::spawn(async move { ledger.ping().await.is_ok() });
        while faults.injected() < 2 {
            tokio::task::yield_now().await;
        }
        faults.heal();
        assert!(
            waiting.await.expect("the call ends"),
            "healed: it goes through"
        );
    }

    #[tokio::test]
    async fn a_failed_call_never_reaches_the_store() {
        let (states, faults) = Faulty::new(MemoryStateStore::default());
        let key = ConversationKey::new("c", "room");
        faults.set(Fault::Fail);
        let error = states.save(&key, "teaching", None).await.unwrap_err();
        assert!(error.to_string().contains("injected fault"), "{error}");
        faults.heal();
        assert_eq!(states.load(&key).await.expect("up"), None);
    }
}
