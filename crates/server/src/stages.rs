//! The stages every delivery goes through, however it is answered: claim its id in the ledger
//! (or find the answer a duplicate gets), make the handler's [`Context`], run the bot under a
//! timeout with panics caught, and the refusals a failing store or handler ends with.
//!
//! `deliver.rs` (answered in the response), `accept.rs` (acknowledged, then queued) and
//! `worker.rs` (a queued delivery worked off) are compositions of these.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{
    Context, ContextParts, ConversationData, DispatchError, Dispatched, Event, Messenger,
};
use botwire_platforms::Rejection;
use botwire_store::{CachedResponse, Claim, DeliveryKey, Ledger, StoreError, Waited};
use futures_util::FutureExt;
use http::{Response, StatusCode};
use tokio::time::{Instant, timeout_at};

use crate::respond::{self, Body};
use crate::route::Route;

/// A claim outlives the deadline by this much, so that a late handler still holds it while it
/// finishes; past it, a worker that died cannot block the retry any longer.
pub(crate) const LEASE_BEYOND_DEADLINE: Duration = Duration::from_secs(30);
/// Claims the delivery `key` for `lease`, or says what a duplicate of it finds. A store that
/// fails or does not answer by `answer_by` is a 503: nothing ran, the sender may retry.
pub(crate) async fn claim(
    ledger: &Arc<dyn Ledger>,
    key: &DeliveryKey<'_>,
    lease: Duration,
    answer_by: Instant,
) -> Result<Claim, Rejection> {
    match timeout_at(answer_by, ledger.claim(key, lease)).await {
        Ok(Ok(claim)) => Ok(claim),
        Ok(Err(error)) => Err(store_down(&error)),
        Err(_) => Err(store_slow()),
    }
}

/// Waits, until `answer_by`, for the original of a duplicate that found it in flight.
pub(crate) async fn wait_for_original(
    ledger: &Arc<dyn Ledger>,
    key: &DeliveryKey<'_>,
    answer_by: Instant,
) -> Result<Waited, Rejection> {
    let wait = ledger.wait(key, answer_by.saturating_duration_since(Instant::now()));
    match timeout_at(answer_by, wait).await {
        Ok(Ok(waited)) => Ok(waited),
        Ok(Err(error)) => Err(store_down(&error)),
        Err(_) => Ok(Waited::TimedOut),
    }
}

/// A duplicate's answer: the original's, byte for byte.
pub(crate) fn replay(cached: CachedResponse) -> Response<Body> {
    let status = StatusCode::from_u16(cached.status).unwrap_or(StatusCode::OK);
    respond::json(status, cached.body)
}

/// Which delivery a handler runs for, and what it may use.
pub(crate) struct Handling<'a> {
    pub(crate) route: &'a Route,
    pub(crate) conversation: &'a str,
    pub(crate) delivery_id: &'a str,
    pub(crate) state: Arc<str>,
    /// When the handler's time is up: what `Context::remaining` counts down to.
    pub(crate) deadline: std::time::Instant,
    pub(crate) data: Arc<dyn ConversationData>,
    pub(crate) messenger: Arc<dyn Messenger>,
}

impl<'a> Handling<'a> {
    /// Runs the bot on `event` until `cancel_at`: a panic or an overrun fails this delivery
    /// only, and the server keeps serving.
    pub(crate) async fn run(
        self,
        event: &Event,
        cancel_at: Instant,
    ) -> Result<Dispatched, HandlerFailure> {
        let (route, state, cx) = self.context();
        guarded(route, &state, cancel_at, route.bot.dispatch(&cx, event)).await
    }

    /// Times the conversation out of its state, under the same guard as [`run`](Self::run):
    /// `None` when the state has no timeout (any more).
    pub(crate) async fn time_out(
        self,
        cancel_at: Instant,
    ) -> Result<Option<Dispatched>, HandlerFailure> {
        let (route, state, cx) = self.context();
        guarded(route, &state, cancel_at, route.bot.time_out(&cx)).await
    }

    /// The route, the state (for the handler's metrics) and the handler's context.
    fn context(self) -> (&'a Route, Arc<str>, Context) {
        tracing::Span::current().record("state", &*self.state);
        let state = self.state.clone();
        let cx = Context::from_parts(ContextParts {
            platform: self.route.adapter.platform(),
            channel: self.route.name.clone(),
            conversation: self.conversation.into(),
            delivery_id: self.delivery_id.into(),
            state: self.state,
            deadline: self.deadline,
        })
        .with_data(self.data)
        .with_messenger(self.messenger);
        (self.route, state, cx)
    }
}

/// `work` (the bot, in `state`) until `cancel_at`, with panics caught and the handler's time
/// measured for its state.
async fn guarded<T>(
    route: &Route,
    state: &Arc<str>,
    cancel_at: Instant,
    work: impl Future<Output = Result<T, DispatchError>>,
) -> Result<T, HandlerFailure> {
    let started = Instant::now();
    let ran = timeout_at(cancel_at, AssertUnwindSafe(work).catch_unwind()).await;
    route.metrics.handled(state, started.elapsed());
    let failure = match ran {
        Ok(Ok(Ok(done))) => return Ok(done),
        Ok(Ok(Err(error))) => HandlerFailure::Failed(error),
        Ok(Err(panic)) => HandlerFailure::Panicked(panic_message(&*panic).to_owned()),
        Err(_) => HandlerFailure::TimedOut,
    };
    match &failure {
        HandlerFailure::Failed(error) => tracing::warn!(%error, "the handler failed"),
        HandlerFailure::Panicked(panic) => tracing::error!(panic, "the handler panicked"),
        HandlerFailure::TimedOut => {
            tracing::error!("the handler ran past its timeout and was cancelled");
        }
    }
    Err(failure)
}

/// Why a handler produced no reply. Its delivery is retried: by the sender (in-response), or
/// by the queue.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandlerFailure {
    /// It returned an error, or moved to a state the bot does not have.
    #[error("handler: {0}")]
    Failed(DispatchError),
    /// It panicked, with this message.
    #[error("handler panicked: {0}")]
    Panicked(String),
    /// It ran past its timeout and was cancelled.
    #[error("handler timed out and was cancelled")]
    TimedOut,
}

/// A panic's message, when it has one.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

/// A store did not answer before the platform's deadline: nothing was accepted.
pub(crate) fn store_slow() -> Rejection {
    tracing::warn!("a store did not answer in time");
    Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_slow",
        "a store did not answer in time; retry later",
    )
}

/// A store failed: nothing was accepted.
pub(crate) fn store_down(error: &StoreError) -> Rejection {
    tracing::warn!(%error, "a store is unavailable");
    Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "a store is unavailable; retry later",
    )
}

/// The delivery failed (its handler, or a store it needed): the sender's retry runs it again.
pub(crate) fn handler_failed() -> Rejection {
    Rejection::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "handler_failed",
        "the delivery failed; retry it",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_says_its_message_when_it_has_one() {
        let text: Box<dyn Any + Send> = Box::new("boom");
        let owned: Box<dyn Any + Send> = Box::new(String::from("bang"));
        let other: Box<dyn Any + Send> = Box::new(42_u8);
        assert_eq!(panic_message(&*text), "boom");
        assert_eq!(panic_message(&*owned), "bang");
        assert_eq!(panic_message(&*other), "(not a string)");
    }
}
