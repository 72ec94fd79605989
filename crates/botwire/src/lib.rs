//! # botwire
//!
//! The receiving end of chat-platform webhooks. A platform POSTs a signed JSON event; botwire
//! verifies it over the raw body, drops duplicate deliveries, finds the conversation's bot state,
//! runs your handler for that state, and gets the reply back to the platform before its deadline.
//!
//! You write each state of your bot as a [`Handler`]: a plain trait impl, or an async closure
//! with [`handler_fn`]. No macros, no injection: the compiler checks everything.
//!
//! ```no_run
//! use botwire::prelude::*;
//!
//! struct Idle;
//!
//! #[async_trait]
//! impl Handler for Idle {
//!     async fn handle(&self, _cx: &Context, event: &Event) -> Result<Reply, BoxError> {
//!         match event.text() {
//!             Some("teach") => Ok(Reply::text("Teach me: <phrase> => <answer>").goto("teaching")),
//!             Some(text) => Ok(Reply::text(text)), // echo, stay in the state
//!             None => Ok(Reply::none()),
//!         }
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let teaching = handler_fn(|_cx, _event| async { Ok(Reply::text("learned!").goto("idle")) });
//!     let bot = Bot::builder()
//!         .initial("idle")
//!         .state("idle", Idle)
//!         .state("teaching", teaching)
//!         .build()?;
//!     // BOTWIRE_FUNTEK_TOKEN=... mounts POST /webhooks/funtek on 127.0.0.1:8080.
//!     Server::from_env()?.bot(bot).serve().await?;
//!     Ok(())
//! }
//! ```
//!
//! ## What happens to one delivery
//!
//! 1. The path picks the channel; the body is read within the size and time limits.
//! 2. The channel's platform verifies the request over the raw bytes (401 otherwise). Nothing is
//!    parsed before this.
//! 3. The body is parsed into an [`Event`] (400 naming the field otherwise).
//! 4. The delivery id is claimed in the ledger: a duplicate gets the first answer byte for byte,
//!    or waits for the original if it is still running.
//! 5. The event waits for its conversation's turn (one at a time, in arrival order), then the
//!    [`Bot`] routes it to the handler of the conversation's state.
//! 6. The reply is rendered in the platform's shape and sent, before the platform's deadline;
//!    a late handler gets the platform's no-op sent in its place and finishes on its own.
//!
//! ## Crates
//!
//! | module | what |
//! |---|---|
//! | [`core`] | events, replies, handlers, the state router (no I/O) |
//! | [`platforms`] | one module per platform: verify, parse, render |
//! | [`store`] | the delivery ledger and conversation state |
//! | [`server`] | the hyper receiver, limits, configuration |
//!
//! Test your bot without a socket with the `botwire-testkit` crate.
//!
//! ## Cargo features
//!
//! All on by default. A bot for one platform on memory (or a store of its own) takes
//! `default-features = false` and the platform's feature; settings that ask for a left-out
//! feature are refused by name at start, never ignored.
//!
//! | feature | what |
//! |---|---|
//! | `funtek`, `kamigo`, `chatwork`, `wechatpadpro` | each platform's adapter |
//! | `embedded` | the embedded durable store (redb): `store = embedded`, the default store with it |
//! | `redis` | the Redis store: `store = redis://…` |
//! | `tls` | TLS on the webhook listener (rustls): `tls_cert`, `tls_key`, `Server::tls` |
//! | `send-api` | the platforms' send APIs and `outbox_url` (reqwest); without it, replies that cannot go in a response need an outbox of your own |
//! | `logs` | [`logs::init`]: `RUST_LOG` and `BOTWIRE_LOG_FORMAT` (`text` or `json`) for a bot's binary |

pub use botwire_core as core;
pub use botwire_core::middleware;
pub use botwire_platforms as platforms;
pub use botwire_server as server;
pub use botwire_store as store;

pub use botwire_core::{
    Bot, BotBuilder, BotState, BoxError, BuildError, Context, ContextParts, ConversationData, Edge,
    Event, EventKind, Graph, Handler, IntoStateName, Member, MemoryData, Message, MessageType,
    Messenger, OutMessage, Reply, StateTimeout, Transition, async_trait, handler_fn,
};
#[cfg(feature = "send-api")]
pub use botwire_platforms::HttpOutbox;
pub use botwire_platforms::{Outbox, OutboxError, Outgoing, Platform, Platforms};
pub use botwire_server::{
    Admin, App, Built, Channel, Engine, Limits, Messages, PeerAddr, Running, SendError, ServeError,
    Server, Settings, Stopped, Workers,
};

#[cfg(feature = "logs")]
pub mod logs;

/// The guides of `docs/`, whose examples compile as this crate's doc tests.
pub mod guide {
    #[doc = include_str!("../../../docs/bots.md")]
    pub mod bots {}

    #[doc = include_str!("../../../docs/custom-platform.md")]
    pub mod custom_platform {}

    #[doc = include_str!("../../../docs/embedding.md")]
    pub mod embedding {}
}

/// The names most bots need: `use botwire::prelude::*;`.
pub mod prelude {
    pub use botwire_core::{
        Bot, BotState, BoxError, Context, Event, EventKind, Handler, Reply, async_trait, handler_fn,
    };
    pub use botwire_server::{Channel, Server};
}

#[cfg(test)]
mod tests {
    use botwire_platforms::funtek::FuntekAdapter;
    use botwire_testkit::{TestClient, funtek};

    use crate::prelude::*;

    /// The quickstart's shape, run in process.
    #[tokio::test]
    async fn quickstart_bot_answers_and_moves_state() {
        let idle = handler_fn(|_cx, event| async move {
            Ok(match event.text() {
                Some("teach") => Reply::text("Teach me").goto("teaching"),
                Some(text) => Reply::text(text),
                None => Reply::none(),
            })
        });
        let bot = Bot::builder()
            .initial("idle")
            .state("idle", idle)
            .state(
                "teaching",
                handler_fn(|_cx, _ev| async { Ok(Reply::none()) }),
            )
            .build()
            .expect("valid bot");
        let adapter = FuntekAdapter::builder().token("t").build().expect("token");
        let app = Server::new()
            .channel(Channel::new("funtek", adapter))
            .bot(bot)
            .into_app()
            .expect("app");
        let client = TestClient::new(app);
        let signer = funtek::Signer::token("t");

        let echoed = client
            .send(signer.request("/webhooks/funtek", funtek::message("hello")))
            .await;
        assert_eq!(echoed.json()["data"]["message"], "hello");
        let taught = client
            .send(signer.request("/webhooks/funtek", funtek::message("teach")))
            .await;
        assert_eq!(taught.json()["toBotState"], "teaching");
    }
}
