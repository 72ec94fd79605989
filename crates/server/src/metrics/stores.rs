//! Stores that count their calls (`botwire_store_calls_total{operation}`) and time one in
//! [`SAMPLE_EVERY`](super::SAMPLE_EVERY) of them (`botwire_store_call_seconds{operation}`).
//! Calls that wait for something other than the store (`take` waits for work, `wait` for
//! another delivery) are passed on uncounted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use botwire_core::{BoxError, ConversationData};
use botwire_store::{
    CachedResponse, Claim, ClaimToken, ConversationKey, DeadLetter, DeliveryKey, DueTimer, Intake,
    Job, JobId, Kept, Ledger, NewJob, Queue, QueueStats, StateStore, StoreError, Timer, Timers,
    Versioned, Waited,
};
use bytes::Bytes;

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
        timers: Arc::new(Timed::new(stores.timers, metrics)),
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

    /// Counts `call` and, if it is one to time, wraps it in a timer. An untimed call is the
    /// store's own future, passed on as it is: no allocation, nothing copied.
    fn count<'a, T: 'a>(&'a self, operation: Operation, call: Boxed<'a, T>) -> Boxed<'a, T> {
        match self.metrics.store_call(operation) {
            None => call,
            Some(started) => {
                let metrics = &*self.metrics;
                Box::pin(async move {
                    let out = call.await;
                    metrics.store_call_took(operation, started.elapsed());
                    out
                })
            }
        }
    }
}

/// What a store trait's methods return (they are `async_trait`s): implemented by hand here,
/// so that an untimed call adds no future of its own.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl Ledger for Timed<dyn Ledger> {
    fn claim<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k DeliveryKey<'kk>,
        lease: Duration,
    ) -> Boxed<'at, Result<Claim, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(Operation::LedgerClaim, self.inner.claim(key, lease))
    }

    fn complete<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k DeliveryKey<'kk>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        let call = self.inner.complete(key, token, response, ttl);
        self.count(Operation::LedgerComplete, call)
    }

    fn release<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k DeliveryKey<'kk>,
        token: ClaimToken,
    ) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(Operation::LedgerRelease, self.inner.release(key, token))
    }

    fn wait<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k DeliveryKey<'kk>,
        timeout: Duration,
    ) -> Boxed<'at, Result<Waited, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.inner.wait(key, timeout)
    }

    fn purge_expired<'s, 'at>(&'s self) -> Boxed<'at, Result<usize, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::LedgerPurge, self.inner.purge_expired())
    }

    fn ping<'s, 'at>(&'s self) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::LedgerPing, self.inner.ping())
    }
}

impl StateStore for Timed<dyn StateStore> {
    fn load<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
    ) -> Boxed<'at, Result<Option<Versioned>, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(Operation::StateLoad, self.inner.load(key))
    }

    fn save<'s, 'k, 'kk, 'st, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
        state: &'st str,
        expected: Option<u64>,
    ) -> Boxed<'at, Result<u64, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
        'st: 'at,
    {
        self.count(Operation::StateSave, self.inner.save(key, state, expected))
    }

    fn ping<'s, 'at>(&'s self) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::StatePing, self.inner.ping())
    }
}

impl Timers for Timed<dyn Timers> {
    fn set<'s, 'k, 'kk, 't, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
        timer: &'t Timer,
    ) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
        't: 'at,
    {
        self.count(Operation::TimerSet, self.inner.set(key, timer))
    }

    fn get<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
    ) -> Boxed<'at, Result<Option<Timer>, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(Operation::TimerGet, self.inner.get(key))
    }

    fn remove<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
        generation: Option<u64>,
    ) -> Boxed<'at, Result<bool, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(Operation::TimerRemove, self.inner.remove(key, generation))
    }

    fn due<'s, 'at>(
        &'s self,
        now: SystemTime,
        limit: usize,
    ) -> Boxed<'at, Result<Vec<DueTimer>, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::TimerDue, self.inner.due(now, limit))
    }

    fn claim<'s, 'k, 'kk, 'at>(
        &'s self,
        key: &'k ConversationKey<'kk>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Boxed<'at, Result<bool, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        self.count(
            Operation::TimerClaim,
            self.inner.claim(key, generation, now, until),
        )
    }
}

impl Queue for Timed<dyn Queue> {
    fn push<'s, 'at>(&'s self, job: NewJob) -> Boxed<'at, Result<JobId, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueuePush, self.inner.push(job))
    }

    fn push_kept<'s, 'at>(&'s self, job: NewJob) -> Boxed<'at, Result<Kept, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueuePushKept, self.inner.push_kept(job))
    }

    fn take<'s, 'at>(&'s self) -> Boxed<'at, Result<Job, StoreError>>
    where
        's: 'at,
    {
        self.inner.take()
    }

    fn finish<'s, 'at>(&'s self, id: JobId) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueFinish, self.inner.finish(id))
    }

    fn retry<'s, 'at>(&'s self, job: Job, after: Duration) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueRetry, self.inner.retry(job, after))
    }

    fn bury<'s, 'r, 'at>(&'s self, job: Job, reason: &'r str) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
        'r: 'at,
    {
        self.count(Operation::QueueBury, self.inner.bury(job, reason))
    }

    fn bury_new<'s, 'r, 'at>(
        &'s self,
        job: NewJob,
        reason: &'r str,
    ) -> Boxed<'at, Result<JobId, StoreError>>
    where
        's: 'at,
        'r: 'at,
    {
        self.count(Operation::QueueBury, self.inner.bury_new(job, reason))
    }

    fn dead_letters<'s, 'at>(&'s self) -> Boxed<'at, Result<Vec<DeadLetter>, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueDeadLetters, self.inner.dead_letters())
    }

    fn replay<'s, 'at>(&'s self, id: JobId) -> Boxed<'at, Result<bool, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueReplay, self.inner.replay(id))
    }

    fn stats<'s, 'at>(&'s self) -> Boxed<'at, Result<QueueStats, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueStats, self.inner.stats())
    }

    fn checkpoint<'s, 'at>(
        &'s self,
        id: JobId,
        progress: Bytes,
    ) -> Boxed<'at, Result<(), StoreError>>
    where
        's: 'at,
    {
        self.count(
            Operation::QueueCheckpoint,
            self.inner.checkpoint(id, progress),
        )
    }

    fn pending<'s, 'at>(&'s self) -> Boxed<'at, Result<Vec<Job>, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueuePending, self.inner.pending())
    }

    fn oldest<'s, 'at>(&'s self) -> Boxed<'at, Result<Option<SystemTime>, StoreError>>
    where
        's: 'at,
    {
        self.count(Operation::QueueOldest, self.inner.oldest())
    }
}

impl Intake for Timed<dyn Intake> {
    fn push_acknowledged<'s, 'k, 'kk, 'at>(
        &'s self,
        job: NewJob,
        key: &'k DeliveryKey<'kk>,
        token: ClaimToken,
        ack: CachedResponse,
        ttl: Duration,
    ) -> Boxed<'at, Result<JobId, StoreError>>
    where
        's: 'at,
        'k: 'at,
        'kk: 'at,
    {
        let call = self.inner.push_acknowledged(job, key, token, ack, ttl);
        self.count(Operation::QueuePushAcknowledged, call)
    }
}

impl ConversationData for Timed<dyn ConversationData> {
    fn get<'s, 'c, 'v, 'k, 'at>(
        &'s self,
        channel: &'c str,
        conversation: &'v str,
        key: &'k str,
    ) -> Boxed<'at, Result<Option<String>, BoxError>>
    where
        's: 'at,
        'c: 'at,
        'v: 'at,
        'k: 'at,
    {
        self.count(
            Operation::DataGet,
            self.inner.get(channel, conversation, key),
        )
    }

    fn set<'s, 'c, 'v, 'k, 'x, 'at>(
        &'s self,
        channel: &'c str,
        conversation: &'v str,
        key: &'k str,
        value: &'x str,
    ) -> Boxed<'at, Result<(), BoxError>>
    where
        's: 'at,
        'c: 'at,
        'v: 'at,
        'k: 'at,
        'x: 'at,
    {
        let call = self.inner.set(channel, conversation, key, value);
        self.count(Operation::DataSet, call)
    }

    fn entries<'s, 'c, 'v, 'at>(
        &'s self,
        channel: &'c str,
        conversation: &'v str,
    ) -> Boxed<'at, Result<Vec<(String, String)>, BoxError>>
    where
        's: 'at,
        'c: 'at,
        'v: 'at,
    {
        let call = self.inner.entries(channel, conversation);
        self.count(Operation::DataEntries, call)
    }
}
