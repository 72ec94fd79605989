//! Test botwire bots without a chat platform.
//!
//! - [`funtek`], [`kamigo`], [`chatwork`], [`wechatpadpro`], [`line`], [`telegram`], [`slack`],
//!   [`discord`], [`standard_webhooks`]: build realistic deliveries of each platform and sign them exactly
//!   as the platform does.
//! - [`conformance`]: one suite every ledger, state store and queue backend must pass.
//! - [`faults::Faulty`]: stores and outboxes that fail, hang or fail every n-th call on demand.
//! - [`outbox::RecordingOutbox`]: see the replies of via-API bots, in order; make sends fail.
//! - [`chatwork_api::FakeApi`], [`imkit_api::FakeApi`], [`wechatpadpro_api::FakeApi`],
//!   [`line_api::FakeApi`], [`telegram_api::FakeApi`], [`slack_api::FakeApi`],
//!   [`discord_api::FakeApi`]: fake send APIs on loopback, for
//!   the real clients: they record what was sent, fail, slow down or rate-limit on demand.
//! - [`webhook_receiver::Receiver`]: a user's service behind the HTTP outbox, verifying each
//!   post as Standard Webhooks specify.
//! - [`transcript::Transcript`]: conversation tests — a person says X, the bot answers Y, the
//!   state is Z, minutes pass on a virtual clock that fires state timeouts — with no socket.
//! - [`TestClient`]: drive a server's [`App`](botwire_server::App) in process, no socket.
//! - [`redis_server::RedisServer`]: a `redis-server` of the test's own, on a free port.
//! - [`bot_process::BotProcess`]: a bot started as its own process, found by its log, killed
//!   with SIGKILL.
//! - [`proc_stats::ProcStats`]: a process's memory, CPU time and descriptors, from `/proc`.
//! - [`tcp`]: send requests to a running server over real TCP.
//! - [`raw`]: write requests byte for byte (lying lengths, chunked bodies) and read the answer.
//!
//! ```
//! use botwire_testkit::{funtek, TestClient};
//! # use botwire_server::{Channel, Server};
//! # use botwire_platforms::funtek::FuntekAdapter;
//! # use botwire_core::{Bot, Reply, handler_fn};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let bot = Bot::builder().initial("idle").state("idle", handler_fn(|_cx, ev| async move {
//! #     Ok(Reply::text(ev.text().unwrap_or_default()))
//! # })).build()?;
//! let adapter = FuntekAdapter::builder().token("t").build()?;
//! let app = Server::new().channel(Channel::new("funtek", adapter)).bot(bot).into_app()?;
//! let client = TestClient::new(app);
//!
//! let signer = funtek::Signer::token("t");
//! let response = client.send(signer.request("/webhooks/funtek", funtek::message("hi"))).await;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.json()["data"]["message"], "hi");
//! # Ok(()) }
//! ```

pub mod bot_process;
pub mod chatwork;
pub mod chatwork_api;
mod client;
pub mod conformance;
pub mod discord;
pub mod discord_api;
mod event;
mod fake_api;
pub mod faults;
pub mod funtek;
pub mod imkit_api;
pub mod kamigo;
pub mod line;
pub mod line_api;
pub mod outbox;
pub mod proc_stats;
pub mod raw;
pub mod redis_server;
pub mod slack;
pub mod slack_api;
pub mod standard_webhooks;
pub mod tcp;
pub mod telegram;
pub mod telegram_api;
pub mod transcript;
pub mod webhook_receiver;
pub mod wechatpadpro;
pub mod wechatpadpro_api;

pub use client::{TestClient, TestResponse};
pub use event::Event;
