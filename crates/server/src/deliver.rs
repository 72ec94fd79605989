//! One delivery of an in-response platform, from claim to answer.
//!
//! Claim the delivery id in the ledger: a duplicate gets the cached answer (or waits for the
//! original); a new delivery takes its turn in its conversation, runs the bot, and is answered
//! with the rendered reply, unless the budget runs out first, in which case the platform's no-op
//! goes out in time and the handler finishes on its own, in a tracked task. A handler that fails or
//! panics releases the claim and gets a 500, so the sender's retry runs it again.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{ConversationData, Dispatched, Messenger};
use botwire_platforms::{Inbound, Rejection, Verified};
use botwire_store::{
    CachedResponse, Claim, ClaimToken, ConversationKey, DeliveryKey, Ledger, NewJob, Queue,
    StateStore, Timers, Waited,
};
use bytes::Bytes;
use futures_util::FutureExt;
use http::{Response, StatusCode};
use tokio::time::{Instant, timeout_at};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::conversation_state;
use crate::deadline;
use crate::delivery_log::{DeliveryLog, Outcome, Record};
use crate::inline::{Inline, LeftBehind};
use crate::pending_move;
use crate::respond::{self, Body};
use crate::route::{DEFAULT_TTL, Route};
use crate::send_job::SendJob;
use crate::stages::{self, Handling, LEASE_BEYOND_DEADLINE, handler_failed, replay};
use crate::timer_reset;
use crate::turns::{Turn, Turns};

/// How long queueing a late reply may take before it counts as lost.
const LATE_PUSH_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Delivery {
    pub(crate) route: Arc<Route>,
    pub(crate) inbound: Inbound,
    /// The delivery's verified body: a late reply is queued with it, so that its outbox sees
    /// the event it answers (a reply token, an interaction's token) as a worker's reply would.
    pub(crate) verified: Verified,
    pub(crate) arrived: Instant,
    /// How long a handler may run in all, late or not; past it, it is cancelled.
    pub(crate) handler_timeout: Duration,
    /// What bots remember per conversation.
    pub(crate) data: Arc<dyn ConversationData>,
    /// Where a late reply is queued, to go out through the channel's send API.
    pub(crate) queue: Arc<dyn Queue>,
    /// What handlers send proactive messages with.
    pub(crate) messenger: Arc<dyn Messenger>,
    /// Where the conversation's state is kept, unless the platform carries it.
    pub(crate) states: Option<Arc<dyn StateStore>>,
    /// The bot's state timeouts, when it has any.
    pub(crate) timeouts: Option<Timeouts>,
}

/// What an in-response delivery needs when its bot has state timeouts.
pub(crate) struct Timeouts {
    /// Where each conversation's timer is set anew after its event.
    pub(crate) timers: Arc<dyn Timers>,
    /// Where a timeout's move waits to be told to a platform that carries the state
    /// (`pending_move`); `None` when botwire keeps the state anyway.
    pub(crate) pending: Option<Arc<dyn StateStore>>,
}

impl Delivery {
    pub(crate) async fn run(
        self,
        ledger: &Arc<dyn Ledger>,
        turns: &Turns,
        tasks: &TaskTracker,
        log: &Arc<DeliveryLog>,
    ) -> Response<Body> {
        let span = tracing::info_span!(
            "delivery",
            channel = %self.route.name,
            platform = self.route.adapter.platform(),
            delivery_id = %self.inbound.delivery_id,
            conversation = %self.inbound.conversation,
            state = tracing::field::Empty,
        );
        self.answer(ledger, turns, tasks, log)
            .instrument(span)
            .await
    }

    async fn answer(
        self,
        ledger: &Arc<dyn Ledger>,
        turns: &Turns,
        tasks: &TaskTracker,
        log: &Arc<DeliveryLog>,
    ) -> Response<Body> {
        let adapter = &self.route.adapter;
        let deadline = adapter.deadline();
        let answer_by = deadline::answer_by(self.arrived, deadline);
        // Owned, since the inbound moves into the handler's task below.
        let (kind, conversation, delivery_id) = (
            self.inbound.event.kind().name().to_owned(),
            self.inbound.conversation.clone(),
            self.inbound.delivery_id.clone(),
        );
        let route = self.route.clone();
        let arrived = self.arrived;
        let record = move |outcome: Outcome| {
            Record::new(
                &route.name,
                route.adapter.platform(),
                outcome,
                arrived.elapsed(),
            )
            .delivery(&kind, &conversation, &delivery_id)
        };
        let late = || {
            tracing::info!("the handler is late: answered the no-op in time");
            log.record(record(Outcome::Late));
            respond::json(StatusCode::OK, adapter.no_op())
        };
        let refuse = |rejection: Rejection| respond::refusal(&**adapter, &rejection, true);
        let key = DeliveryKey::new(&self.route.name, &self.inbound.delivery_id);
        // A late handler runs until its own timeout at most; the claim outlives it.
        let runs_for = deadline.max(self.handler_timeout);
        let lease = runs_for + LEASE_BEYOND_DEADLINE;

        // A store that fails here ran nothing: the sender is told to retry.
        let claim = match stages::claim(ledger, &key, lease, answer_by).await {
            Ok(claim) => claim,
            Err(rejection) => return refuse(rejection),
        };
        let token = match claim {
            Claim::New(token) => token,
            Claim::Done(cached) => {
                tracing::debug!("duplicate: answered from the ledger");
                log.record(record(Outcome::Duplicate));
                return replay(cached);
            }
            Claim::InFlight => {
                return match stages::wait_for_original(ledger, &key, answer_by).await {
                    Ok(Waited::Done(cached)) => {
                        tracing::debug!("duplicate: answered as the original was");
                        log.record(record(Outcome::Duplicate));
                        replay(cached)
                    }
                    // The original failed. This copy was sent alongside it, so it fails with it
                    // rather than running the handler once more per waiting copy; the sender's
                    // retry runs it again.
                    Ok(Waited::Released) => refuse(handler_failed()),
                    Ok(Waited::TimedOut) => late(),
                    Err(rejection) => refuse(rejection),
                };
            }
        };

        let conversation_key = format!("{}\n{}", self.route.name, self.inbound.conversation);
        let left = LeftBehind::default();
        let work = Work {
            turn: turns.enter(conversation_key),
            route: self.route.clone(),
            inbound: self.inbound,
            verified: self.verified,
            token,
            ledger: ledger.clone(),
            log: log.clone(),
            arrived: self.arrived,
            deadline: self.arrived + deadline,
            cancel_at: self.arrived + runs_for,
            data: self.data,
            queue: self.queue,
            messenger: self.messenger,
            states: self.states,
            timeouts: self.timeouts,
            left: left.clone(),
        };
        // Run in place; if the answer goes out late (or the connection closes), the rest runs
        // on in a tracked task. A panic outside the handler fails this delivery only.
        let run = AssertUnwindSafe(work.run())
            .catch_unwind()
            .in_current_span();
        match timeout_at(answer_by, Inline::new(run, tasks.clone(), left)).await {
            Ok(Ok(Some(body))) => respond::json(StatusCode::OK, body),
            Ok(Ok(None) | Err(_)) => refuse(handler_failed()),
            Err(_) => late(),
        }
    }
}

/// The part that can outlive the answer: it finishes after a late answer was sent.
struct Work {
    turn: Turn,
    route: Arc<Route>,
    inbound: Inbound,
    verified: Verified,
    token: ClaimToken,
    ledger: Arc<dyn Ledger>,
    log: Arc<DeliveryLog>,
    arrived: Instant,
    deadline: Instant,
    /// When the handler is cancelled if it has not finished.
    cancel_at: Instant,
    data: Arc<dyn ConversationData>,
    queue: Arc<dyn Queue>,
    messenger: Arc<dyn Messenger>,
    states: Option<Arc<dyn StateStore>>,
    timeouts: Option<Timeouts>,
    /// Set once the no-op has answered for this delivery: the reply must go another way.
    left: LeftBehind,
}

impl Work {
    /// The rendered reply, recorded in the ledger; `None` when the handler failed (the claim is
    /// released then).
    async fn run(mut self) -> Option<Bytes> {
        self.turn.ready().await;
        let Route {
            name, adapter, bot, ..
        } = &*self.route;
        let inbound = &self.inbound;
        let key = DeliveryKey::new(name, &inbound.delivery_id);
        let conversation = ConversationKey::new(name, &inbound.conversation);
        let stored = match &self.states {
            None => None,
            Some(states) => match self.read(states.load(&conversation)).await {
                Ok(stored) => stored,
                Err(error) => return self.fail(&key, "?", error).await,
            },
        };
        // A timeout's move the platform was not told yet: the conversation is there now. One
        // can wait only if the state the platform sends has a timeout: no other store read.
        let carried = bot.current_state(inbound.state.as_deref());
        let pending_in = self
            .timeouts
            .as_ref()
            .and_then(|t| t.pending.as_ref())
            .filter(|_| bot.timeout_of(&carried).is_some());
        let pending = match pending_in {
            None => None,
            Some(states) => match self
                .read(pending_move::waiting(states, &conversation))
                .await
            {
                Ok(waiting) => waiting,
                Err(error) => return self.fail(&key, "?", error).await,
            },
        };
        let state = match (&self.states, &pending) {
            (None, Some(moved)) => bot.current_state(Some(&moved.state)),
            (None, None) => carried,
            (Some(_), _) => bot.current_state(stored.as_ref().map(|v| v.state.as_str())),
        };
        let handling = Handling {
            route: &self.route,
            conversation: &inbound.conversation,
            delivery_id: &inbound.delivery_id,
            state: state.clone(),
            deadline: self.deadline.into_std(),
            data: self.data.clone(),
            messenger: self.messenger.clone(),
        };
        // A failure releases the claim: the sender's retry runs the handler again.
        let dispatched = match handling.run(&inbound.event, self.cancel_at).await {
            Ok(dispatched) => dispatched,
            Err(failure) => return self.fail(&key, &state, failure.to_string()).await,
        };
        if let (Some(states), true) = (&self.states, dispatched.changed) {
            let expected = stored.as_ref().map(|v| v.version);
            let next = &*dispatched.next_state;
            // Bounded like the load: a hanging store must not hold the claim (and shutdown,
            // which waits for late work) for ever.
            let save = conversation_state::save(states, &conversation, next, expected);
            let saved = match timeout_at(self.cancel_at, save).await {
                Ok(saved) => saved.map(drop).map_err(|error| error.to_string()),
                Err(_) => Err("state store: no answer in time".to_owned()),
            };
            if let Err(error) = saved {
                // The reply would speak from a state that was not kept: the retry runs again.
                tracing::warn!(%error, "the new state could not be saved");
                return self.fail(&key, &state, error).await;
            }
        }
        if let Err(error) = self
            .keep_timeouts(&conversation, &state, &dispatched, pending.as_ref())
            .await
        {
            // Answering would leave the conversation's timer, or a move it tells the
            // platform, out of step with the reply: the retry runs again.
            tracing::warn!(%error, "the conversation's timeout could not be kept");
            return self.fail(&key, &state, error).await;
        }
        // A move the platform learns now: the handler's, or a timeout's that waited for it.
        let tell = dispatched.changed || pending.is_some();
        let next_state = tell.then_some(&*dispatched.next_state);
        let body = adapter.render_to(inbound, &dispatched.reply, next_state);
        let ttl = inbound.remember_for.unwrap_or(DEFAULT_TTL);
        let cached = CachedResponse::new(StatusCode::OK.as_u16(), body.clone());
        // Known late already: send the reply another way before the delivery counts as done,
        // so that a duplicate answered from the ledger finds the reply on its way.
        let late = self.left.is_set();
        if late {
            self.after_late(&dispatched, &state).await;
        }
        if let Err(error) = self.ledger.complete(&key, self.token, cached, ttl).await {
            // The answer still goes out; a duplicate may run the handler again.
            tracing::warn!(%error, "could not record the answer in the ledger");
        }
        tracing::info!(next_state = %dispatched.next_state, "delivered");
        if late {
            return Some(body);
        }
        // Late while the ledger was written: nothing waits for the body any more.
        if self.left.is_set() {
            self.after_late(&dispatched, &state).await;
            return Some(body);
        }
        let text = dispatched.reply.out_message().map(|m| m.body());
        let outcome = if text.is_some() {
            Outcome::Replied
        } else {
            Outcome::NoReply
        };
        self.log
            .record(self.record(outcome).states(&state, next_state).reply(text));
        // No await from the check above to here: if the caller still waits, this body is the
        // answer.
        Some(body)
    }

    /// What a state store read answers by the time the handler would be cancelled, or why it
    /// did not (a hanging store must not hold the claim, or shutdown, for ever).
    async fn read<T>(
        &self,
        read: impl Future<Output = Result<T, botwire_store::StoreError>>,
    ) -> Result<T, String> {
        match timeout_at(self.cancel_at, read).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(format!("state store: {error}")),
            Err(_) => Err("state store: no answer in time".to_owned()),
        }
    }

    /// Once the bot has answered: the conversation's timer set anew (or removed), and a
    /// timeout's move that waited for this response marked told. Bounded like the state save.
    async fn keep_timeouts(
        &self,
        conversation: &ConversationKey<'_>,
        state: &str,
        dispatched: &Dispatched,
        pending: Option<&botwire_store::Versioned>,
    ) -> Result<(), String> {
        let Some(timeouts) = &self.timeouts else {
            return Ok(());
        };
        let next = &*dispatched.next_state;
        if pending.is_none() && !timer_reset::needed(&self.route, state, next, None) {
            return Ok(());
        }
        let keep = async {
            timer_reset::reset(
                &timeouts.timers,
                &self.route,
                conversation.conversation,
                state,
                next,
                None,
            )
            .await?;
            match (pending, &timeouts.pending) {
                (Some(moved), Some(states)) => {
                    pending_move::told(states, conversation, moved.version).await
                }
                _ => Ok(()),
            }
        };
        match timeout_at(self.cancel_at, keep).await {
            Ok(kept) => kept.map_err(|error| format!("timers: {error}")),
            Err(_) => Err("timers: no answer in time".to_owned()),
        }
    }

    /// The delivery failed before it was answered: recorded, and its claim released so the
    /// sender's retry runs it again.
    async fn fail(&self, key: &DeliveryKey<'_>, state: &str, detail: String) -> Option<Bytes> {
        self.log.record(
            self.record(Outcome::Failed)
                .states(state, None)
                .detail(detail),
        );
        self.release(key).await;
        None
    }

    /// The handler finished after the no-op answered the delivery: its reply can reach the
    /// conversation only through the channel's send API, as a queued message; its state
    /// change cannot reach the platform at all (in-response platforms take a state only in
    /// the response). What is lost is logged and counted as a failure, never dropped quietly.
    async fn after_late(&self, dispatched: &Dispatched, state: &str) {
        let mut lost = Vec::new();
        // A state botwire keeps was saved; one the platform keeps goes only in a response.
        if dispatched.changed && self.states.is_none() {
            tracing::warn!(
                to = %dispatched.next_state,
                "late: the state change is lost (the platform takes a state only in a response)"
            );
            lost.push(format!(
                "the move to state {:?} is lost: the platform takes a state only in the webhook's response",
                &*dispatched.next_state
            ));
        }
        if dispatched.reply.out_message().is_some() {
            if self.route.outbox.delivers() {
                if let Err(error) = self.queue_late_reply(dispatched).await {
                    tracing::error!(%error, "late: the reply could not be queued: it is lost");
                    lost.push(format!("the late reply is lost: {error}"));
                }
            } else {
                tracing::error!("late: the reply is lost: this channel has no send API");
                lost.push(
                    "the late reply is lost: this channel has no send API (set its api_base and api_key)"
                        .to_owned(),
                );
            }
        }
        if !lost.is_empty() {
            let next = dispatched.changed.then_some(&*dispatched.next_state);
            self.log.record(
                self.record(Outcome::Failed)
                    .states(state, next)
                    .detail(lost.join("; ")),
            );
        }
    }

    /// Queues the late reply in the conversation's lane, to be sent like any other message.
    async fn queue_late_reply(&self, dispatched: &Dispatched) -> Result<(), String> {
        let inbound = &self.inbound;
        let job = SendJob::late_reply(
            dispatched.reply.clone(),
            &inbound.delivery_id,
            inbound.body.as_ref().unwrap_or(&self.verified).to_stored(),
        );
        let new = NewJob::new(
            &*self.route.name,
            &inbound.conversation,
            &inbound.delivery_id,
            job.encode(),
        );
        match tokio::time::timeout(LATE_PUSH_TIMEOUT, self.queue.push(new)).await {
            Ok(Ok(_)) => {
                tracing::info!("late: the reply is queued for the platform's send API");
                self.log.record(
                    self.record(Outcome::Queued)
                        .detail("late: the reply goes out through the send API"),
                );
                Ok(())
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "the queue did not answer within {LATE_PUSH_TIMEOUT:?}"
            )),
        }
    }

    fn record(&self, outcome: Outcome) -> Record {
        self.route
            .record(&self.inbound, outcome, self.arrived.elapsed())
    }

    async fn release(&self, key: &DeliveryKey<'_>) {
        if let Err(error) = self.ledger.release(key, self.token).await {
            tracing::warn!(%error, "could not release the claim");
        }
    }
}
