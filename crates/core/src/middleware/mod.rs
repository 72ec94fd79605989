//! Middleware: an ordered chain around every handler of a bot, for the rules every state
//! shares (ignore other bots, a per-sender rate limit, a word filter) instead of a copy in
//! each handler.
//!
//! A middleware sees the [`Context`] and the [`Event`] before the handler and its [`Reply`]
//! after, and does one of three things: answers by itself (returns a reply without calling
//! [`Next::run`]), drops the event (returns [`Reply::none`]), or passes it on
//! (`next.run(cx, event).await`, whose reply it may change). A reply from a middleware is held
//! to the bot's transitions like a handler's.
//!
//! ```
//! use botwire_core::middleware::{IgnoreBots, Middleware, Next, middleware_fn};
//! use botwire_core::{handler_fn, Bot, Reply};
//!
//! // A closure: answers `ping` itself, passes everything else on.
//! let ping = middleware_fn(|cx, event, next: Next| async move {
//!     if event.text() == Some("ping") {
//!         return Ok(Reply::text("pong"));
//!     }
//!     next.run(&cx, &event).await
//! });
//! let echo = handler_fn(|_cx, event| async move {
//!     Ok(event.text().map(Reply::text).unwrap_or_else(Reply::none))
//! });
//! let bot = Bot::builder()
//!     .middleware(IgnoreBots) // runs first
//!     .middleware(ping)
//!     .initial("idle")
//!     .state("idle", echo)
//!     .build()?;
//! # let _ = bot;
//! # Ok::<(), botwire_core::BuildError>(())
//! ```

mod ignore_bots;
mod rate_limit;
mod word_filter;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

pub use ignore_bots::IgnoreBots;
pub use rate_limit::RateLimitPerSender;
pub use word_filter::WordFilter;

use crate::{BoxError, Context, Event, Handler, Reply};

/// One link of a bot's middleware chain; see the [module docs](self).
#[async_trait]
pub trait Middleware: Send + Sync + 'static {
    /// Handles one event: answer, drop, or `next.run(cx, event).await`.
    async fn handle(&self, cx: &Context, event: &Event, next: Next) -> Result<Reply, BoxError>;
}

/// The rest of the chain after a middleware, ending in the state's handler.
pub struct Next {
    chain: Arc<[Arc<dyn Middleware>]>,
    at: usize,
    handler: Arc<dyn Handler>,
}

impl Next {
    /// `chain`, from its first link, in front of `handler`.
    pub(crate) fn new(chain: Arc<[Arc<dyn Middleware>]>, handler: Arc<dyn Handler>) -> Self {
        Self {
            chain,
            at: 0,
            handler,
        }
    }

    /// Passes the event on: to the next middleware, or to the state's handler.
    ///
    /// # Errors
    /// What the rest of the chain returns.
    pub async fn run(self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        match self.chain.get(self.at).cloned() {
            Some(link) => {
                let rest = Self {
                    at: self.at + 1,
                    ..self
                };
                link.handle(cx, event, rest).await
            }
            None => self.handler.handle(cx, event).await,
        }
    }
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &(self.chain.len() - self.at))
            .finish_non_exhaustive()
    }
}

/// A [`Middleware`] made from an async closure; see [`middleware_fn`].
#[derive(Clone)]
pub struct MiddlewareFn<F> {
    f: F,
}

/// Makes a [`Middleware`] from an async closure that takes the context, the event (cheap
/// clones) and the rest of the chain, as tower's `service_fn` does for services.
pub fn middleware_fn<F, Fut>(f: F) -> MiddlewareFn<F>
where
    F: Fn(Context, Event, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, BoxError>> + Send + 'static,
{
    MiddlewareFn { f }
}

#[async_trait]
impl<F, Fut> Middleware for MiddlewareFn<F>
where
    F: Fn(Context, Event, Next) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, BoxError>> + Send + 'static,
{
    async fn handle(&self, cx: &Context, event: &Event, next: Next) -> Result<Reply, BoxError> {
        (self.f)(cx.clone(), event.clone(), next).await
    }
}

impl<F> std::fmt::Debug for MiddlewareFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiddlewareFn").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::test_support::{context, says, text};
    use crate::{Bot, OutMessage};

    /// Writes `name` before and after the rest of the chain.
    fn tracing(name: &'static str, log: Arc<Mutex<Vec<String>>>) -> impl Middleware {
        middleware_fn(move |cx, event, next: Next| {
            let log = log.clone();
            async move {
                log.lock().expect("log").push(format!("{name} before"));
                let reply = next.run(&cx, &event).await;
                log.lock().expect("log").push(format!("{name} after"));
                reply
            }
        })
    }

    fn body(reply: &Reply) -> Option<&str> {
        reply.out_message().map(OutMessage::body)
    }

    #[tokio::test]
    async fn links_run_in_the_order_added_around_the_handler() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let bot = Bot::builder()
            .middleware(tracing("outer", log.clone()))
            .middleware(tracing("inner", log.clone()))
            .initial("a")
            .state("a", says("handled"))
            .build()
            .expect("valid bot");
        let out = bot
            .dispatch(&context(&bot, None), &text("hi"))
            .await
            .expect("dispatched");
        assert_eq!(body(&out.reply), Some("handled"));
        assert_eq!(
            *log.lock().expect("log"),
            ["outer before", "inner before", "inner after", "outer after"]
        );
    }

    #[tokio::test]
    async fn a_link_may_answer_drop_or_change_the_reply() {
        let answer = middleware_fn(|cx, event, next: Next| async move {
            match event.text() {
                Some("ping") => Ok(Reply::text("pong")),
                Some("hush") => Ok(Reply::none()),
                _ => {
                    let reply = next.run(&cx, &event).await?;
                    let shout = body(&reply).unwrap_or_default().to_uppercase();
                    Ok(Reply::text(shout))
                }
            }
        });
        let bot = Bot::builder()
            .middleware(answer)
            .initial("a")
            .state("a", says("handled"))
            .build()
            .expect("valid bot");
        let cx = context(&bot, None);
        let run = |word: &'static str| {
            let bot = &bot;
            let cx = &cx;
            async move {
                bot.dispatch(cx, &text(word))
                    .await
                    .expect("dispatched")
                    .reply
            }
        };
        assert_eq!(body(&run("ping").await), Some("pong"));
        assert_eq!(body(&run("hush").await), None);
        assert_eq!(body(&run("hello").await), Some("HANDLED"));
    }

    #[tokio::test]
    async fn a_links_move_is_held_to_the_graph() {
        let detour =
            middleware_fn(|_cx, _event, _next: Next| async move { Ok(Reply::none().goto("c")) });
        let bot = Bot::builder()
            .middleware(detour)
            .initial("a")
            .state("a", says("a"))
            .state("b", says("b"))
            .state("c", says("c"))
            .transitions("a", ["b"])
            .transitions("b", ["c"])
            .build()
            .expect("valid bot");
        let refused = bot.dispatch(&context(&bot, None), &text("hi")).await;
        assert!(
            matches!(refused, Err(crate::DispatchError::UndeclaredTarget { .. })),
            "{refused:?}"
        );
    }
}
