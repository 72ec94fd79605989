//! The workers of via-API platforms: take a job, run the bot in the conversation's stored
//! state, save the new state (compare-and-swap), send the reply through the channel's outbox.
//!
//! A failure (handler error, panic or timeout; a store or outbox failure) puts the job back
//! with backoff; after the last attempt it becomes a dead letter. A reply that was produced but
//! not delivered is kept with the job, so a retry sends it without running the handler again.

use std::time::Duration;

use botwire_platforms::{Inbound, OutboxError, Outgoing, Parsed, Verified};
use botwire_store::{ConversationKey, Job, StoreError};
use bytes::Bytes;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::app::App;
use crate::checkpoint::Checkpoint;
use crate::conversation_state::{self, SaveError};
use crate::delivery_log::{Outcome, Record};
use crate::pending_move;
use crate::route::Route;
use crate::send_job::SendJob;
use crate::stages::{HandlerFailure, Handling};
use crate::timeout_job::TimeoutJob;
use crate::timer_reset;

/// The first and the longest wait between attempts to record a job's outcome with a queue
/// that cannot be reached.
const SETTLE_FIRST_WAIT: Duration = Duration::from_millis(50);
const SETTLE_LAST_WAIT: Duration = Duration::from_secs(2);

/// Runs one worker until `stop` is cancelled.
pub(crate) async fn run(app: App, stop: CancellationToken) {
    loop {
        let job = tokio::select! {
            job = app.queue().take() => job,
            () = stop.cancelled() => return,
        };
        match job {
            Ok(job) => {
                let span = tracing::info_span!(
                    "job",
                    channel = %job.channel,
                    delivery_id = %job.delivery_id,
                    conversation = %job.conversation,
                    attempt = job.attempts + 1,
                    state = tracing::field::Empty,
                );
                process(&app, &stop, job).instrument(span).await;
                app.worked().notify_waiters();
            }
            Err(error) => {
                tracing::warn!(%error, "the queue is unavailable");
                // Back off a little so a queue that is down does not spin the worker.
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                    () = stop.cancelled() => return,
                }
            }
        }
    }
}

/// How one attempt ended.
enum Attempt {
    /// Done: the reply (if any) was delivered.
    Done {
        reply: Option<String>,
        /// The state before and after (none for a message sent by itself).
        states: Option<(String, Option<String>)>,
    },
    /// Nothing to do, for this reason (a timeout an event overtook).
    Skipped(&'static str),
    /// Failed; `progress` is the reply awaiting delivery, if the handler got that far.
    Failed {
        error: AttemptError,
        progress: Option<Bytes>,
        states: Option<(String, Option<String>)>,
    },
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// The handler failed, panicked or ran out of time.
    #[error(transparent)]
    Handler(#[from] HandlerFailure),
    /// A store failed.
    #[error("{store}: {source}")]
    Store {
        store: &'static str,
        #[source]
        source: StoreError,
    },
    /// A store did not answer within the handler timeout.
    #[error("{store}: no answer within {timeout:?}")]
    StoreSlow {
        store: &'static str,
        timeout: Duration,
    },
    /// The new state was not saved.
    #[error(transparent)]
    State(#[from] SaveError),
    /// The outbox did not take the reply (its own error says whether to retry, and when).
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
}

impl AttemptError {
    /// The wait the platform asked for before the next attempt.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Outbox(error) => error.retry_after(),
            _ => None,
        }
    }

    /// Whether retrying cannot help: the platform refused the reply for good.
    fn is_permanent(&self) -> bool {
        matches!(self, Self::Outbox(error) if !error.is_transient())
    }

    /// Not a failure: a rate limit to wait out. The attempt does not count.
    fn is_rate_limited(&self) -> bool {
        matches!(self, Self::Outbox(error) if error.is_rate_limited())
    }
}

/// What a job is: a delivery to handle, a message to send, or a state timeout to run.
enum Work {
    Delivery(Box<Inbound>),
    Send(SendJob),
    Timeout(TimeoutJob),
}

/// What the bot runs for in an attempt: an event, or its state's timeout.
#[derive(Clone, Copy)]
enum Trigger<'a> {
    Event(&'a Inbound),
    TimedOut(&'a TimeoutJob),
}

impl<'a> Trigger<'a> {
    /// The delivery-log name of what happened.
    fn kind(self) -> &'a str {
        match self {
            Self::Event(inbound) => inbound.event.kind().name(),
            Self::TimedOut(_) => "timed_out",
        }
    }
}

async fn process(app: &App, stop: &CancellationToken, mut job: Job) {
    let started = Instant::now();
    let Some(route) = app.route_by_channel(&job.channel) else {
        bury(
            app,
            stop,
            job,
            "its channel is no longer mounted",
            started,
            "unknown",
        )
        .await;
        return;
    };
    let platform = route.adapter.platform();
    let work = match SendJob::decode(&job.body)
        .map(|send| send.map(Work::Send))
        .or_else(|| TimeoutJob::decode(&job.body).map(|timeout| timeout.map(Work::Timeout)))
    {
        Some(Ok(work)) => work,
        Some(Err(_)) => {
            bury(
                app,
                stop,
                job,
                "the message no longer decodes",
                started,
                platform,
            )
            .await;
            return;
        }
        // Verified when it was accepted, before it was queued.
        None => match parse_again(&route, &job.body) {
            Some(inbound) => Work::Delivery(Box::new(inbound)),
            None => {
                bury(
                    app,
                    stop,
                    job,
                    "the body no longer parses",
                    started,
                    platform,
                )
                .await;
                return;
            }
        },
    };
    let (attempt, kind) = match &work {
        Work::Delivery(inbound) => {
            let trigger = Trigger::Event(inbound);
            (attempt(app, &route, &job, trigger).await, trigger.kind())
        }
        Work::Timeout(timeout) => {
            let trigger = Trigger::TimedOut(timeout);
            (attempt(app, &route, &job, trigger).await, trigger.kind())
        }
        Work::Send(send) => (send_attempt(app, &route, &job, send).await, send.kind()),
    };
    let record = |outcome: Outcome, attempts: u32| {
        Record::new(&route.name, platform, outcome, started.elapsed())
            .delivery(kind, &job.conversation, &job.delivery_id)
            .attempt(attempts)
    };
    match attempt {
        Attempt::Done { reply, states } => {
            let outcome = if reply.is_some() {
                Outcome::Replied
            } else {
                Outcome::NoReply
            };
            let mut line = record(outcome, job.attempts + 1).reply(reply.as_deref());
            if let Some((before, after)) = &states {
                line = line.states(before, after.as_deref());
            }
            app.log().record(line);
            tracing::info!("delivered");
            finish(app, stop, job.id).await;
        }
        Attempt::Skipped(why) => {
            app.log()
                .record(record(Outcome::Ignored, job.attempts + 1).detail(why));
            tracing::info!(why, "nothing to do");
            finish(app, stop, job.id).await;
        }
        Attempt::Failed {
            error, progress, ..
        } if error.is_rate_limited() && error.retry_after().is_some() => {
            // Waiting for a limit is not a failed attempt: the job keeps its place and its
            // count, however long the platform makes it wait.
            let wait = error.retry_after().unwrap_or_default();
            job.progress = progress;
            tracing::debug!(%error, retry_in = ?wait, "rate limited: will send again");
            let put_back = settle(app, stop, "put the job back", || {
                app.queue().retry(job.clone(), wait)
            });
            if let Err(e) = put_back.await {
                tracing::error!(error = %e, "could not put the job back");
            }
        }
        Attempt::Failed {
            error,
            progress,
            states,
        } => {
            let (retry_after, permanent) = (error.retry_after(), error.is_permanent());
            let error = error.to_string();
            job.attempts += 1;
            job.progress = progress;
            job.last_error = Some(error.clone());
            let settings = app.workers();
            let mut line = record(Outcome::Retrying, job.attempts).detail(error.clone());
            if let Some((before, after)) = &states {
                line = line.states(before, after.as_deref());
            }
            if permanent || job.attempts >= settings.max_attempts {
                line.outcome = Outcome::DeadLetter;
                app.log().record(line);
                tracing::error!(%error, attempts = job.attempts, "given up: kept as a dead letter");
                bury_only(app, stop, job, &error).await;
            } else {
                let wait = settings
                    .backoff(job.attempts)
                    .max(retry_after.unwrap_or_default());
                app.log().record(line);
                tracing::warn!(%error, retry_in = ?wait, "attempt failed: will retry");
                let put_back = settle(app, stop, "put the job back", || {
                    app.queue().retry(job.clone(), wait)
                });
                if let Err(e) = put_back.await {
                    tracing::error!(error = %e, "could not put the job back");
                }
            }
        }
    }
}

/// One attempt: run the bot (unless an earlier attempt's checkpoint is waiting), store the
/// checkpoint, save the state, set the conversation's timer, send.
async fn attempt(app: &App, route: &Route, job: &Job, trigger: Trigger<'_>) -> Attempt {
    let failed = |error: AttemptError, progress: Option<Bytes>, states| Attempt::Failed {
        error,
        progress,
        states,
    };
    let timeout = app.workers().handler_timeout;
    let (checkpoint, progress) = match resume(app, route, job, trigger.kind()) {
        Some(checkpoint) => (checkpoint, job.progress.clone()),
        None => {
            let checkpoint = match dispatch(app, route, job, trigger).await {
                Ok(Ran::Checkpoint(checkpoint)) => checkpoint,
                Ok(Ran::Overtaken(why)) => return Attempt::Skipped(why),
                Err(error) => return failed(error, None, None),
            };
            let progress = checkpoint.encode();
            let stored = bounded(
                "queue",
                timeout,
                app.queue().checkpoint(job.id, progress.clone()),
            )
            .await;
            if let Err(error) = stored {
                // Nothing durable happened yet: the retry runs the handler again.
                return failed(error, None, None);
            }
            (checkpoint, Some(progress))
        }
    };
    let states = (
        checkpoint.from.clone(),
        checkpoint.to.as_ref().map(|(to, _)| to.clone()),
    );
    if let Some((to, expected)) = &checkpoint.to {
        let key = ConversationKey::new(&route.name, &job.conversation);
        let save = conversation_state::save(app.states(), &key, to, *expected);
        let saved = match tokio::time::timeout(timeout, save).await {
            Ok(saved) => saved.map_err(AttemptError::State),
            Err(_) => Err(AttemptError::StoreSlow {
                store: "state store",
                timeout,
            }),
        };
        if let Err(error) = saved {
            return failed(error, progress, Some(states));
        }
    }
    let now_in = states.1.as_deref().unwrap_or(&states.0);
    let fired = match trigger {
        Trigger::TimedOut(timeout) => Some(timeout.generation),
        Trigger::Event(_) => None,
    };
    if timer_reset::needed(route, &states.0, now_in, fired) {
        let reset = timer_reset::reset(
            app.timers(),
            route,
            &job.conversation,
            &states.0,
            now_in,
            fired,
        );
        if let Err(error) = bounded("timers", timeout, reset).await {
            return failed(error, progress, Some(states));
        }
    }
    let Some(text) = checkpoint.reply.out_message().map(|m| m.body().to_owned()) else {
        return Attempt::Done {
            reply: None,
            states: Some(states),
        };
    };
    let outgoing = match trigger {
        Trigger::Event(inbound) => Outgoing::new(
            &*route.name,
            route.adapter.platform(),
            &inbound.conversation,
            &inbound.delivery_id,
            inbound.event.clone(),
            checkpoint.reply,
        ),
        Trigger::TimedOut(_) => Outgoing::proactive(
            &*route.name,
            route.adapter.platform(),
            &job.conversation,
            &job.delivery_id,
            checkpoint.reply,
        ),
    };
    send_through(app, route, &outgoing, Some(text), progress, Some(states)).await
}

/// The checkpoint an earlier attempt stored with `job`, if any. One that does not decode (a
/// newer botwire's, or damaged) is logged and counted in the delivery log, and the handler
/// runs again: the reply may then go out twice, but the delivery is neither stuck nor dropped.
fn resume(app: &App, route: &Route, job: &Job, kind: &str) -> Option<Checkpoint> {
    let progress = job.progress.as_ref()?;
    match Checkpoint::decode(progress) {
        Ok(checkpoint) => Some(checkpoint),
        Err(error) => {
            tracing::error!(%error, "running the handler again");
            // Named by the job's ids, as the attempt's other records are.
            app.log().record(
                Record::new(
                    &route.name,
                    route.adapter.platform(),
                    Outcome::Retrying,
                    Duration::ZERO,
                )
                .delivery(kind, &job.conversation, &job.delivery_id)
                .attempt(job.attempts + 1)
                .detail(format!("{error}: the handler runs again")),
            );
            None
        }
    }
}

/// Sends `outgoing` through the channel's outbox, bounded by the handler timeout: done
/// with `reply`, or failed keeping `progress` and `states` for the retry.
async fn send_through(
    app: &App,
    route: &Route,
    outgoing: &Outgoing,
    reply: Option<String>,
    progress: Option<Bytes>,
    states: Option<(String, Option<String>)>,
) -> Attempt {
    let timeout = app.workers().handler_timeout;
    let sent = tokio::time::timeout(timeout, route.outbox.send(outgoing))
        .await
        .unwrap_or_else(|_| {
            Err(OutboxError::transient(format!(
                "no answer within {timeout:?}"
            )))
        });
    match sent {
        Ok(()) => Attempt::Done { reply, states },
        Err(error) => Attempt::Failed {
            error: AttemptError::Outbox(error),
            progress,
            states,
        },
    }
}

/// One attempt to send a queued message (no handler, no state): through the channel's
/// outbox, like a reply.
/// The one delivery in a queued body (or a late reply's): verified when it was accepted,
/// before it was stored. A batch's member parses to a batch of one.
fn parse_again(route: &Route, stored: &Bytes) -> Option<Inbound> {
    match route.adapter.parse(Verified::stored(stored.clone())) {
        Ok(Parsed::Event(inbound)) => Some(*inbound),
        Ok(Parsed::Batch(mut batch)) if batch.len() == 1 => batch.pop(),
        _ => None,
    }
}

async fn send_attempt(app: &App, route: &Route, job: &Job, send: &SendJob) -> Attempt {
    // A late reply goes out as the reply to its event, so its outbox sees what a worker's
    // reply's would; one whose delivery is not kept (or no longer parses) as a message.
    let answered = send.delivery.as_ref().and_then(|stored| {
        let inbound = parse_again(route, stored);
        if inbound.is_none() {
            tracing::warn!("the late reply's delivery no longer parses: sent without it");
        }
        inbound
    });
    let mut outgoing = match (answered, &send.in_reply_to) {
        (Some(inbound), Some(delivery_id)) => Outgoing::new(
            &*route.name,
            route.adapter.platform(),
            &job.conversation,
            delivery_id,
            inbound.event,
            send.reply.clone(),
        ),
        _ => Outgoing::proactive(
            &*route.name,
            route.adapter.platform(),
            &job.conversation,
            &send.message_id,
            send.reply.clone(),
        ),
    };
    outgoing.delivery_id.clone_from(&send.in_reply_to);
    outgoing.message_id.clone_from(&send.message_id);
    let text = outgoing.text().map(str::to_owned);
    send_through(app, route, &outgoing, text, None, None).await
}

/// What running the bot came to.
enum Ran {
    /// Its reply and the state to save, for the caller to keep and carry out.
    Checkpoint(Checkpoint),
    /// A timeout that an event overtook: nothing ran.
    Overtaken(&'static str),
}

/// Runs the bot in the stored state on `trigger`; the state it moves to is saved by the
/// caller, after the checkpoint. A timeout runs only while its timer is still the
/// conversation's: an event handled since it fell due set the timer anew or removed it.
async fn dispatch(
    app: &App,
    route: &Route,
    job: &Job,
    trigger: Trigger<'_>,
) -> Result<Ran, AttemptError> {
    let key = ConversationKey::new(&route.name, &job.conversation);
    let timeout = app.workers().handler_timeout;
    let stored = bounded("state store", timeout, app.states().load(&key)).await?;
    let state = match trigger {
        // The platform keeps the state; the store holds only a timeout's move it was not told
        // yet (empty once told). Without one, the conversation is where the timer says.
        Trigger::TimedOut(due) if route.adapter.carries_state() => {
            let waiting = stored.as_ref().filter(|v| pending_move::is_waiting(v));
            route.bot.current_state(Some(
                waiting.map_or(due.state.as_str(), |v| v.state.as_str()),
            ))
        }
        _ => route
            .bot
            .current_state(stored.as_ref().map(|v| v.state.as_str())),
    };
    let handling = Handling {
        route,
        conversation: &job.conversation,
        delivery_id: &job.delivery_id,
        state: state.clone(),
        deadline: std::time::Instant::now() + timeout,
        data: app.data().clone(),
        messenger: app.messenger(),
    };
    let cancel_at = Instant::now() + timeout;
    let dispatched = match trigger {
        Trigger::Event(inbound) => handling.run(&inbound.event, cancel_at).await?,
        Trigger::TimedOut(due) => {
            let current = bounded("timers", timeout, app.timers().get(&key)).await?;
            if current.is_none_or(|timer| timer.generation != due.generation) {
                return Ok(Ran::Overtaken("an event came before the timeout"));
            }
            if *state != *due.state {
                bounded(
                    "timers",
                    timeout,
                    app.timers().remove(&key, Some(due.generation)),
                )
                .await?;
                return Ok(Ran::Overtaken(
                    "the conversation left the state that timed out",
                ));
            }
            match handling.time_out(cancel_at).await? {
                Some(dispatched) => dispatched,
                None => {
                    bounded(
                        "timers",
                        timeout,
                        app.timers().remove(&key, Some(due.generation)),
                    )
                    .await?;
                    return Ok(Ran::Overtaken("the state has no timeout any more"));
                }
            }
        }
    };
    let to = dispatched.changed.then(|| {
        (
            dispatched.next_state.to_string(),
            stored.as_ref().map(|v| v.version),
        )
    });
    Ok(Ran::Checkpoint(Checkpoint::new(
        dispatched.reply,
        state.to_string(),
        to,
    )))
}

/// What `store` answers, or why it did not within `timeout` (a hanging store must not hold a
/// worker for ever: the attempt fails and is retried).
async fn bounded<T>(
    store: &'static str,
    timeout: Duration,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, AttemptError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(AttemptError::Store { store, source }),
        Err(_) => Err(AttemptError::StoreSlow { store, timeout }),
    }
}

/// Marks job `id` finished (its conversation's next job may go).
async fn finish(app: &App, stop: &CancellationToken, id: botwire_store::JobId) {
    let finished = settle(app, stop, "mark the job finished", || {
        app.queue().finish(id)
    });
    if let Err(error) = finished.await {
        tracing::warn!(%error, "could not mark the job finished");
    }
}

async fn bury(
    app: &App,
    stop: &CancellationToken,
    job: Job,
    reason: &str,
    started: Instant,
    platform: &'static str,
) {
    app.log().record(
        Record::new(
            &job.channel,
            platform,
            Outcome::DeadLetter,
            started.elapsed(),
        )
        .detail(reason),
    );
    tracing::error!(reason, "given up: kept as a dead letter");
    bury_only(app, stop, job, reason).await;
}

async fn bury_only(app: &App, stop: &CancellationToken, job: Job, reason: &str) {
    let kept = settle(app, stop, "keep the dead letter", || {
        app.queue().bury(job.clone(), reason)
    });
    if let Err(error) = kept.await {
        tracing::error!(%error, "could not keep the dead letter: the delivery is lost");
    }
}

/// Records a job's outcome with the queue (`call`), again and again while the store cannot be
/// reached or does not answer: until it is recorded, the job stays its conversation's current
/// one, and giving up would leave it stuck until a restart. Gives up on any other error, or
/// when the worker is stopped (the job is then reported unfinished, and a durable store hands
/// it out again at the next start).
async fn settle<F, Fut>(
    app: &App,
    stop: &CancellationToken,
    what: &str,
    mut call: F,
) -> Result<(), AttemptError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let limit = app.workers().handler_timeout;
    let mut wait = SETTLE_FIRST_WAIT;
    loop {
        let error = match bounded("queue", limit, call()).await {
            Ok(()) => return Ok(()),
            Err(AttemptError::Store { source, .. }) if !source.is_unavailable() => {
                return Err(AttemptError::Store {
                    store: "queue",
                    source,
                });
            }
            Err(error) => error,
        };
        tracing::warn!(%error, retry_in = ?wait, "could not {what}: trying again");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return Err(error),
        }
        wait = (wait * 2).min(SETTLE_LAST_WAIT);
    }
}
