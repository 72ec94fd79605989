//! Stores that time their calls: `botwire_store_call_seconds{operation}`. Calls that wait for
//! something other than the store (`take` waits for work, `wait` for another delivery) are
//! passed on untimed.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use botwire_core::{BoxError, ConversationData};
use botwire_store::{
    CachedResponse, Claim, ClaimToken, ConversationKey, DeadLetter, DeliveryKey, Intake, Job,
    JobId, Kept, Ledger, NewJob, Queue, QueueStats, StateStore, StoreError, Versioned, Waited,
};
use bytes::Bytes;
use tokio::time::Instant;

use super::Metrics;
use super::operation::Operation;
use crate::stores::Stores;

/// `stores`, each timed into `metrics`.
pub(crate) fn meter(stores: Stores, metrics: &Arc<Metrics>) -> Stores {
    Stores {
        ledger: Arc::new(Timed::new(stores.ledger, metrics)),
        states: Arc::new(Timed::new(stores.states, metrics)),
        queue: Arc::new(Timed::new(stores.queue, metrics)),
        data: Arc::new(Timed::new(stores.data, metrics)),
        intake: stores
            .intake
            .map(|intake| Arc::new(Timed::new(intake, metrics)) as Arc<dyn Intake>),
    }
}

struct Timed<S: ?Sized> {
    inner: Arc<S>,
    metrics: Arc<Metrics>,
}

impl<S: ?Sized> Timed<S> {
    fn new(inner: Arc<S>, metrics: &Arc<Metrics>) -> Self {
        Self {
            inner,
            metrics: metrics.clone(),
        }
    }

    async fn time<T>(&self, operation: Operation, call: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        self.metrics.store_call(operation, started.elapsed());
        out
    }
}

#[async_trait]
impl Ledger for Timed<dyn Ledger> {
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        self.time(Operation::LedgerClaim, self.inner.claim(key, lease))
            .await
    }

    async fn complete(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let call = self.inner.complete(key, token, response, ttl);
        self.time(Operation::LedgerComplete, call).await
    }

    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError> {
        self.time(Operation::LedgerRelease, self.inner.release(key, token))
            .await
    }

    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError> {
        self.inner.wait(key, timeout).await
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        self.time(Operation::LedgerPurge, self.inner.purge_expired())
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.time(Operation::LedgerPing, self.inner.ping()).await
    }
}

#[async_trait]
impl StateStore for Timed<dyn StateStore> {
    async fn load(&self, key: &ConversationKey<'_>) -> Result<Option<Versioned>, StoreError> {
        self.time(Operation::StateLoad, self.inner.load(key)).await
    }

    async fn save(
        &self,
        key: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.time(Operation::StateSave, self.inner.save(key, state, expected))
            .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.time(Operation::StatePing, self.inner.ping()).await
    }
}

#[async_trait]
impl Queue for Timed<dyn Queue> {
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError> {
        self.time(Operation::QueuePush, self.inner.push(job)).await
    }

    async fn push_kept(&self, job: NewJob) -> Result<Kept, StoreError> {
        self.time(Operation::QueuePushKept, self.inner.push_kept(job))
            .await
    }

    async fn take(&self) -> Result<Job, StoreError> {
        self.inner.take().await
    }

    async fn finish(&self, id: JobId) -> Result<(), StoreError> {
        self.time(Operation::QueueFinish, self.inner.finish(id))
            .await
    }

    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError> {
        self.time(Operation::QueueRetry, self.inner.retry(job, after))
            .await
    }

    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError> {
        self.time(Operation::QueueBury, self.inner.bury(job, reason))
            .await
    }

    async fn bury_new(&self, job: NewJob, reason: &str) -> Result<JobId, StoreError> {
        self.time(Operation::QueueBury, self.inner.bury_new(job, reason))
            .await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.time(Operation::QueueDeadLetters, self.inner.dead_letters())
            .await
    }

    async fn replay(&self, id: JobId) -> Result<bool, StoreError> {
        self.time(Operation::QueueReplay, self.inner.replay(id))
            .await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.time(Operation::QueueStats, self.inner.stats()).await
    }

    async fn checkpoint(&self, id: JobId, progress: Bytes) -> Result<(), StoreError> {
        self.time(
            Operation::QueueCheckpoint,
            self.inner.checkpoint(id, progress),
        )
        .await
    }

    async fn pending(&self) -> Result<Vec<Job>, StoreError> {
        self.time(Operation::QueuePending, self.inner.pending())
            .await
    }

    async fn oldest(&self) -> Result<Option<SystemTime>, StoreError> {
        self.time(Operation::QueueOldest, self.inner.oldest()).await
    }
}

#[async_trait]
impl Intake for Timed<dyn Intake> {
    async fn push_acknowledged(
        &self,
        job: NewJob,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        ack: CachedResponse,
        ttl: Duration,
    ) -> Result<JobId, StoreError> {
        let call = self.inner.push_acknowledged(job, key, token, ack, ttl);
        self.time(Operation::QueuePushAcknowledged, call).await
    }
}

#[async_trait]
impl ConversationData for Timed<dyn ConversationData> {
    async fn get(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
    ) -> Result<Option<String>, BoxError> {
        self.time(
            Operation::DataGet,
            self.inner.get(channel, conversation, key),
        )
        .await
    }

    async fn set(
        &self,
        channel: &str,
        conversation: &str,
        key: &str,
        value: &str,
    ) -> Result<(), BoxError> {
        let call = self.inner.set(channel, conversation, key, value);
        self.time(Operation::DataSet, call).await
    }
}
