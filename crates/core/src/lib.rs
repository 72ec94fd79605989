//! The core of botwire: what a bot sees and what it answers.
//!
//! This crate does no I/O. It defines the normalized [`Event`] a platform delivery becomes, the
//! [`Reply`] a handler returns, the [`Handler`] trait (and [`handler_fn`] for async closures), the
//! per-delivery [`Context`], and [`Bot`]: the finite state machine that routes an event to the
//! handler of the conversation's current state.
//!
//! ```
//! use botwire_core::{async_trait, BoxError, Bot, Context, Event, Handler, Reply};
//!
//! struct Echo;
//!
//! #[async_trait]
//! impl Handler for Echo {
//!     async fn handle(&self, _cx: &Context, event: &Event) -> Result<Reply, BoxError> {
//!         Ok(event.text().map(Reply::text).unwrap_or_else(Reply::none))
//!     }
//! }
//!
//! let bot = Bot::builder().initial("idle").state("idle", Echo).build()?;
//! assert_eq!(bot.initial_state(), "idle");
//! # Ok::<(), botwire_core::BuildError>(())
//! ```

mod bot;
mod builder;
mod context;
mod data;
mod event;
mod graph;
mod handler;
mod messenger;
pub mod middleware;
mod reply;
mod state;
#[cfg(test)]
mod test_support;
mod timeout;

pub use async_trait::async_trait;
pub use bot::{Bot, DispatchError, Dispatched};
pub use builder::{BotBuilder, BuildError};
pub use context::{Context, ContextParts};
pub use data::{ConversationData, MemoryData};
pub use event::{Event, EventKind, Member, Message, MessageType};
pub use graph::{Edge, Graph};
pub use handler::{Handler, HandlerFn, handler_fn};

/// The error type handlers (and the stores and messengers they reach) return: anything that is
/// an error. Defined here, beneath every module that uses it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
pub use messenger::Messenger;
pub use reply::{OutMessage, Reply, Transition};
pub use state::{BotState, IntoStateName};
pub use timeout::StateTimeout;
