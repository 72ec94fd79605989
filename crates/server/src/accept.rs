//! One delivery of a via-API platform: claim it, queue it, acknowledge it.
//!
//! The answer is the platform's acknowledgement, given as soon as the queue holds the delivery;
//! the ledger then remembers that acknowledgement, so a duplicate gets the same bytes and is
//! not queued twice. A full queue is a 503 for senders that resend; a sender that never resends
//! (Chatwork) gets its 200 and the delivery is queued past the capacity (`push_kept`), to be
//! handled in its conversation's turn; only a store that can hold no more (memory, at twice
//! its capacity) keeps it as a dead letter.

use std::sync::Arc;

use botwire_platforms::{Inbound, Rejection};
use botwire_store::{
    CachedResponse, Claim, DeliveryKey, Intake, Kept, Ledger, NewJob, Queue, StoreError, Waited,
};
use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::time::{Instant, timeout_at};

use crate::deadline;
use crate::delivery_log::{DeliveryLog, Outcome};
use crate::respond::{self, Body};
use crate::route::{DEFAULT_TTL, Route};
use crate::stages::{self, LEASE_BEYOND_DEADLINE, replay, store_down, store_slow};

pub(crate) struct Acceptance<'a> {
    pub(crate) route: Arc<Route>,
    pub(crate) inbound: Inbound,
    /// What is queued: the delivery's verified body as it is stored (`Verified::to_stored`).
    pub(crate) body: Bytes,
    pub(crate) arrived: Instant,
    pub(crate) ledger: &'a Arc<dyn Ledger>,
    pub(crate) queue: &'a Arc<dyn Queue>,
    /// The ledger and the queue as one store, when they are.
    pub(crate) intake: Option<&'a Arc<dyn Intake>>,
    pub(crate) log: &'a DeliveryLog,
}

impl Acceptance<'_> {
    pub(crate) async fn run(self) -> Response<Body> {
        let route = &self.route;
        let adapter = &route.adapter;
        let refuse = |rejection: Rejection| respond::refusal(&**adapter, &rejection, true);
        let answer_by = deadline::answer_by(self.arrived, adapter.deadline());
        let key = DeliveryKey::new(&route.name, &self.inbound.delivery_id);
        let lease = adapter.deadline() + LEASE_BEYOND_DEADLINE;
        let record =
            |outcome: Outcome| route.record(&self.inbound, outcome, self.arrived.elapsed());

        let token = match stages::claim(self.ledger, &key, lease, answer_by).await {
            Ok(Claim::New(token)) => token,
            Ok(Claim::Done(cached)) => {
                self.log.record(record(Outcome::Duplicate));
                return replay(cached);
            }
            Ok(Claim::InFlight) => {
                // The original is being queued right now; answer as it is answered.
                return match stages::wait_for_original(self.ledger, &key, answer_by).await {
                    Ok(Waited::Done(cached)) => {
                        self.log.record(record(Outcome::Duplicate));
                        replay(cached)
                    }
                    Ok(Waited::Released | Waited::TimedOut) => refuse(Rejection::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "the original delivery is not accepted yet; retry later",
                    )),
                    Err(rejection) => refuse(rejection),
                };
            }
            Err(rejection) => {
                self.lost_unless_resent();
                return refuse(rejection);
            }
        };

        let job = NewJob::new(
            &*route.name,
            &self.inbound.conversation,
            &self.inbound.delivery_id,
            self.body.clone(),
        );
        let ack = adapter.no_op();
        let ttl = self.inbound.remember_for.unwrap_or(DEFAULT_TTL);
        let cached = CachedResponse::new(StatusCode::OK.as_u16(), ack.clone());
        // One write for the job and its acknowledgement when one store holds both.
        let push = match self.intake {
            Some(intake) => intake.push_acknowledged(job.clone(), &key, token, cached.clone(), ttl),
            None => self.queue.push(job.clone()),
        };
        let pushed = match timeout_at(answer_by, push).await {
            Ok(pushed) => pushed,
            Err(_) => {
                self.release(token, &key).await;
                self.lost_unless_resent();
                return refuse(store_slow());
            }
        };
        let kept = match pushed {
            Ok(_) => {
                self.log.record(record(Outcome::Queued));
                if self.intake.is_some() {
                    // The store recorded the acknowledgement with the job.
                    return respond::json(StatusCode::OK, ack);
                }
                true
            }
            Err(StoreError::QueueFull { capacity }) if !adapter.sender_retries() => {
                // This sender never resends: keep the delivery past the capacity, in its
                // conversation's lane, rather than drop it or park it for a person.
                match self.queue.push_kept(job).await {
                    Ok(Kept::Queued(_)) => {
                        tracing::warn!(
                            capacity,
                            "the queue is past its capacity: kept the delivery in its lane"
                        );
                        self.log.record(
                            record(Outcome::Queued).detail("kept past the queue's capacity"),
                        );
                        true
                    }
                    Ok(Kept::Buried(_)) => {
                        tracing::error!(
                            capacity,
                            "the queue can hold no more: kept the delivery as a dead letter"
                        );
                        self.log
                            .record(record(Outcome::DeadLetter).detail("the queue was full"));
                        true
                    }
                    Err(error) => {
                        tracing::error!(%error, "could not keep the delivery: it is lost");
                        false
                    }
                }
            }
            Err(StoreError::QueueFull { capacity }) => {
                tracing::warn!(capacity, "the queue is full: answered 503");
                self.release(token, &key).await;
                self.log
                    .record(record(Outcome::Failed).detail("the queue was full"));
                return refuse(Rejection::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "queue_full",
                    "too many deliveries are waiting; retry later",
                ));
            }
            Err(error) => {
                self.release(token, &key).await;
                self.lost_unless_resent();
                return refuse(store_down(&error));
            }
        };
        if kept {
            let complete = self.ledger.complete(&key, token, cached, ttl);
            match tokio::time::timeout(STORE_GRACE, complete).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not record the acknowledgement in the ledger");
                }
                Err(_) => tracing::warn!("the ledger did not record the acknowledgement in time"),
            }
        } else {
            self.release(token, &key).await;
        }
        respond::json(StatusCode::OK, ack)
    }

    /// A store failed before the delivery was kept. A sender that resends will try again; one
    /// that never does (Chatwork) has lost it: say which one, so it can be recovered by hand.
    fn lost_unless_resent(&self) {
        if !self.route.adapter.sender_retries() {
            self.log.record(
                self.route
                    .record(&self.inbound, Outcome::Failed, self.arrived.elapsed())
                    .detail("lost: a store failed and this platform never resends"),
            );
            tracing::error!(
                channel = %self.route.name,
                delivery_id = %self.inbound.delivery_id,
                conversation = %self.inbound.conversation,
                "a store failed and this platform never resends: the delivery is lost"
            );
        }
    }

    async fn release(&self, token: botwire_store::ClaimToken, key: &DeliveryKey<'_>) {
        match tokio::time::timeout(STORE_GRACE, self.ledger.release(key, token)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not release the claim"),
            // The lease runs out by itself; the sender's retry can claim it then.
            Err(_) => tracing::warn!("the ledger did not release the claim in time"),
        }
    }
}

/// How long bookkeeping after the decision (recording an ack, releasing a claim) may hold the
/// answer when a store hangs.
const STORE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
