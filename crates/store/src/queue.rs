//! The work queue of via-API platforms: deliveries acknowledged to the sender and not yet
//! handled, kept in per-conversation lanes so that a conversation's events are handled one at a
//! time and in order, while different conversations run concurrently.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;

use crate::StoreError;

/// Identifies a job within its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A delivery to accept.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewJob {
    /// The channel it came in on.
    pub channel: String,
    /// Its conversation: the lane it queues in.
    pub conversation: String,
    /// The platform's delivery id.
    pub delivery_id: String,
    /// The verified raw body, parsed again by the worker.
    pub body: Bytes,
}

impl NewJob {
    /// A job for this delivery.
    pub fn new(
        channel: impl Into<String>,
        conversation: impl Into<String>,
        delivery_id: impl Into<String>,
        body: Bytes,
    ) -> Self {
        Self {
            channel: channel.into(),
            conversation: conversation.into(),
            delivery_id: delivery_id.into(),
            body,
        }
    }
}

/// A job as the queue hands it out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The channel it came in on.
    pub channel: String,
    /// Its conversation.
    pub conversation: String,
    /// The platform's delivery id.
    pub delivery_id: String,
    /// The verified raw body.
    pub body: Bytes,
    /// How many attempts have failed so far.
    pub attempts: u32,
    /// What the worker finished before a failure, opaque to the queue (the reply awaiting
    /// delivery, so that a retry sends it without running the handler again).
    pub progress: Option<Bytes>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the queue accepted it.
    pub accepted_at: SystemTime,
}

impl Job {
    /// Job `id` for the delivery `new`, accepted at `accepted_at` and not yet attempted (for
    /// queue backends that number and store jobs themselves).
    pub fn accepted(id: JobId, new: NewJob, accepted_at: SystemTime) -> Self {
        Self {
            id,
            channel: new.channel,
            conversation: new.conversation,
            delivery_id: new.delivery_id,
            body: new.body,
            attempts: 0,
            progress: None,
            last_error: None,
            accepted_at,
        }
    }
}

/// A job that will not be retried any more, kept so that it can be read and replayed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The job as it last failed.
    pub job: Job,
    /// Why it was given up on.
    pub reason: String,
    /// When.
    pub died_at: SystemTime,
}

impl DeadLetter {
    /// `job`, given up on at `died_at` because of `reason` (for queue backends).
    pub fn new(job: Job, reason: impl Into<String>, died_at: SystemTime) -> Self {
        Self {
            job,
            reason: reason.into(),
            died_at,
        }
    }
}

/// What became of a delivery accepted with [`Queue::push_kept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Queued in its conversation's lane, past the capacity; it is handed out in turn.
    Queued(JobId),
    /// Kept as a dead letter: this store could hold no more (memory), so it waits for a
    /// replay.
    Buried(JobId),
}

/// The reason a delivery [`Queue::push_kept`] could not queue is kept as a dead letter with.
pub const KEPT_FULL: &str = "queue_full";

/// How full a queue is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Jobs accepted and not finished (waiting, backing off or in progress).
    pub queued: usize,
    /// Jobs a worker holds now.
    pub in_progress: usize,
    /// Dead letters kept.
    pub dead: usize,
    /// The most jobs it accepts.
    pub capacity: usize,
}

/// The queue. A job is handed to one worker at a time, and a conversation's next job only once
/// its previous one is finished or buried: [`take`](Queue::take) never hands out two jobs of
/// one conversation together. A job put back with [`retry`](Queue::retry) keeps its place at
/// the front of its lane.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Accepts a job at the back of its conversation's lane.
    ///
    /// # Errors
    /// [`StoreError::QueueFull`] at capacity; [`StoreError::Unavailable`] when the backend is
    /// down.
    async fn push(&self, job: NewJob) -> Result<JobId, StoreError>;

    /// Accepts a job for a sender that never resends (Chatwork), past the capacity that
    /// [`push`](Queue::push) keeps for senders that retry: it goes to the back of its lane
    /// and is handed out in turn, as the backlog drains, with no one replaying it. A store
    /// that can hold no more keeps it as a dead letter ([`Kept::Buried`], reason
    /// [`KEPT_FULL`]); that is what this default does.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the backend is down.
    async fn push_kept(&self, job: NewJob) -> Result<Kept, StoreError> {
        self.bury_new(job, KEPT_FULL).await.map(Kept::Buried)
    }

    /// Waits for a job whose conversation has none in progress, and hands it out. Must be
    /// cancel-safe: a take that is dropped before it returns takes nothing.
    ///
    /// # Errors
    /// When the backend is down.
    async fn take(&self) -> Result<Job, StoreError>;

    /// The job is done; its conversation's next job may go.
    ///
    /// # Errors
    /// When the backend is down.
    async fn finish(&self, id: JobId) -> Result<(), StoreError>;

    /// Puts a job back at the front of its lane, to be handed out again after `after`. The
    /// caller has updated its `attempts`, `progress` and `last_error`.
    ///
    /// # Errors
    /// When the backend is down.
    async fn retry(&self, job: Job, after: Duration) -> Result<(), StoreError>;

    /// Gives up on a job: it becomes a dead letter, and its conversation's next job may go.
    ///
    /// # Errors
    /// When the backend is down.
    async fn bury(&self, job: Job, reason: &str) -> Result<(), StoreError>;

    /// Keeps a delivery that could not be queued as a dead letter straight away (a full queue
    /// in front of a sender that never resends), so it can be replayed later.
    ///
    /// # Errors
    /// When the backend is down.
    async fn bury_new(&self, job: NewJob, reason: &str) -> Result<JobId, StoreError>;

    /// The dead letters, oldest first.
    ///
    /// # Errors
    /// When the backend is down.
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError>;

    /// Queues a dead letter again, with its attempts reset and its progress kept; `false` when
    /// there is no dead letter with this id.
    ///
    /// # Errors
    /// [`StoreError::QueueFull`] at capacity; when the backend is down.
    async fn replay(&self, id: JobId) -> Result<bool, StoreError>;

    /// How full the queue is.
    ///
    /// # Errors
    /// When the backend is down.
    async fn stats(&self) -> Result<QueueStats, StoreError>;

    /// Records what the worker holding job `id` has finished (opaque `progress`), durably for
    /// durable queues, so that if the worker dies the job resumes from there. A queue that
    /// does not outlive its workers may do nothing: [`retry`](Queue::retry) carries the
    /// progress too.
    ///
    /// # Errors
    /// When the backend is down.
    async fn checkpoint(&self, id: JobId, progress: Bytes) -> Result<(), StoreError>;

    /// The jobs waiting for a worker (not those a worker holds), in the order they were
    /// accepted. Shutdown reads it to name what is left undone.
    ///
    /// # Errors
    /// When the backend is down.
    async fn pending(&self) -> Result<Vec<Job>, StoreError>;

    /// When the oldest job waiting for a worker (not one a worker holds) was accepted
    /// (`None`: none waits); what the queue's age metric reads. By default the earliest of
    /// [`pending`](Queue::pending); a backend shared by several instances answers for the
    /// jobs this instance would hand out, as `pending` does.
    ///
    /// # Errors
    /// When the backend is down.
    async fn oldest(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self
            .pending()
            .await?
            .iter()
            .map(|job| job.accepted_at)
            .min())
    }
}
