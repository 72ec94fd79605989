//! The `Handler` trait a bot's states implement, and `handler_fn` for async closures.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{BoxError, Context, Event, Reply};

/// Handles the events of one state of a bot.
///
/// Object safe: the router stores handlers as `Arc<dyn Handler>`. An error (or a panic) is a
/// failed delivery: botwire releases its claim so that the sender's retry runs it again.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Answers one event.
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError>;
}

#[async_trait]
impl<H> Handler for Arc<H>
where
    H: Handler + ?Sized,
{
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        (**self).handle(cx, event).await
    }
}

/// A [`Handler`] made from an async closure; see [`handler_fn`].
#[derive(Clone)]
pub struct HandlerFn<F> {
    f: F,
}

/// Makes a [`Handler`] from an async closure that takes the context and event by value (both are
/// cheap clones), so the future it returns borrows nothing.
///
/// ```
/// use botwire_core::{handler_fn, Reply};
///
/// let shout = handler_fn(|_cx, event| async move {
///     Ok(Reply::text(event.text().unwrap_or_default().to_uppercase()))
/// });
/// # let _ = shout;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> HandlerFn<F>
where
    F: Fn(Context, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, BoxError>> + Send + 'static,
{
    HandlerFn { f }
}

#[async_trait]
impl<F, Fut> Handler for HandlerFn<F>
where
    F: Fn(Context, Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, BoxError>> + Send + 'static,
{
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        (self.f)(cx.clone(), event.clone()).await
    }
}

impl<F> std::fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerFn").finish_non_exhaustive()
    }
}
