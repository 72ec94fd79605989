//! Platform adapters for botwire: one module per chat platform.
//!
//! An [`Adapter`] is one mounted webhook of one platform. It verifies a request over the raw body
//! bytes (before anything is parsed), parses the body into an [`Inbound`] event, and renders the
//! platform's reply and no-op bodies. Adapters see `http` types and bytes, never a server: the
//! server drives them through this trait and names no platform.
//!
//! Each platform also has a [`Platform`] factory that builds an adapter from
//! [`ChannelSettings`] (the TOML file and `BOTWIRE_*` variables); [`Platforms::builtin`] lists
//! them all. A platform of your own implements the same two traits with the same helpers
//! ([`json::parse`], [`Rejection`], [`auth`], [`ChannelSettings`]); the facade's
//! `botwire::guide::custom_platform` walks through one.

mod adapter;
#[cfg(feature = "send-api")]
mod api;
pub mod auth;
#[cfg(feature = "chatwork")]
pub mod chatwork;
#[cfg(any(feature = "funtek", feature = "kamigo"))]
mod content;
#[cfg(feature = "discord")]
pub mod discord;
#[cfg(feature = "funtek")]
pub mod funtek;
#[cfg(feature = "send-api")]
mod http_outbox;
pub mod json;
#[cfg(feature = "kamigo")]
pub mod kamigo;
#[cfg(feature = "line")]
pub mod line;
mod outbox;
mod platform;
mod rate_limit;
mod registry;
mod settings;
#[cfg(feature = "slack")]
pub mod slack;
pub mod standard_webhooks;
#[cfg(feature = "telegram")]
pub mod telegram;
#[cfg(test)]
mod test_support;
#[cfg(any(
    feature = "line",
    feature = "telegram",
    feature = "slack",
    feature = "discord"
))]
mod text;
mod verified;
#[cfg(feature = "wechatpadpro")]
pub mod wechatpadpro;

pub use adapter::{Adapter, Inbound, Mode, Parsed, Rejection};
#[cfg(feature = "send-api")]
pub use api::ClientError;
#[cfg(feature = "send-api")]
pub use http_outbox::HttpOutbox;
pub use outbox::{LogOutbox, Outbox, OutboxError, Outgoing};
pub use platform::Platform;
pub use rate_limit::{InvalidRate, Rate, RateLimited, RateLimits};
pub use registry::Platforms;
pub use settings::{ChannelSettings, SettingError, SettingValue};
pub use verified::Verified;
