//! The botwire receiver: a hyper server that takes chat-platform webhooks and answers them.
//!
//! The path of one delivery: route the path to a channel; read the body within the size and
//! time limits; verify it over the raw bytes (nothing is parsed before); parse; claim the
//! delivery id in the [`Ledger`](botwire_store::Ledger) so a duplicate gets the first answer;
//! take the conversation's turn; run the [`Bot`](botwire_core::Bot) under the platform's
//! deadline; answer with the rendered reply, or with the platform's no-op in time when the
//! handler is late. This crate names no platform: it drives each through
//! [`Adapter`](botwire_platforms::Adapter).

mod accept;
mod admin;
mod app;
mod channel;
mod checkpoint;
mod client_addr;
pub mod config;
mod connection;
mod conversation_state;
mod deadline;
mod deliver;
pub mod delivery_log;
mod engine;
mod inline;
mod job_body;
mod limits;
mod messages;
mod metrics;
mod pending_move;
mod respond;
mod route;
mod send_job;
mod serve;
mod serve_error;
mod server;
mod service;
mod stages;
mod state_timers;
mod stores;
mod timeout_job;
mod timer_reset;
mod tls;
mod turns;
mod worker;
mod workers;

pub use admin::Admin;
pub use app::App;
pub use channel::Channel;
pub use client_addr::PeerAddr;
pub use config::{ConfigError, Settings};
pub use engine::{Engine, Stopped, Unfinished};
pub use limits::Limits;
pub use messages::{Messages, SendError};
pub use respond::Body;
pub use route::DEFAULT_TTL;
pub use serve::Running;
pub use serve_error::ServeError;
pub use server::{Built, Server};
pub use service::ResponseFuture;
pub use tls::TlsError;
pub use workers::Workers;
