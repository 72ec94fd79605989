//! Platform adapters for botwire: one module per chat platform.
//!
//! An [`Adapter`] is one mounted webhook of one platform. It verifies a request over the raw body
//! bytes (before anything is parsed), parses the body into an [`Inbound`] event, and renders the
//! platform's reply and no-op bodies. Adapters see `http` types and bytes, never a server: the
//! server drives them through this trait and names no platform.
//!
//! Each platform also has a [`Platform`] factory that builds an adapter from
//! [`ChannelSettings`] (the TOML file and `BOTWIRE_*` variables); [`platforms`] lists them all.

mod adapter;
mod api;
pub mod auth;
pub mod chatwork;
pub mod funtek;
mod http_outbox;
mod json;
pub mod kamigo;
mod outbox;
mod rate_limit;
mod settings;
pub mod standard_webhooks;
#[cfg(test)]
mod test_support;
pub mod wechatpadpro;

use std::sync::Arc;

pub use adapter::{Adapter, Inbound, Mode, Parsed, Rejection};
pub use api::ClientError;
pub use http_outbox::HttpOutbox;
pub use outbox::{LogOutbox, Outbox, OutboxError, Outgoing};
pub use rate_limit::{InvalidRate, Rate, RateLimited, RateLimits};
pub use settings::{ChannelSettings, SettingError, SettingValue};

/// Builds a platform's adapter from a channel's settings.
pub trait Platform: Send + Sync + 'static {
    /// The platform id (`funtek`, …): the default channel name and path segment.
    fn id(&self) -> &'static str;

    /// The adapter for a channel of this platform, or `None` when its settings do not ask for
    /// one to be mounted (no secret set).
    ///
    /// # Errors
    /// When a setting is unknown or malformed; the error names the setting and where it came
    /// from, never its value.
    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError>;
}

/// Every platform botwire knows.
pub fn platforms() -> &'static [&'static dyn Platform] {
    &[
        &funtek::Funtek,
        &kamigo::Kamigo,
        &chatwork::Chatwork,
        &wechatpadpro::WeChatPadPro,
    ]
}

/// The platform with this id.
pub fn platform(id: &str) -> Option<&'static dyn Platform> {
    platforms().iter().copied().find(|p| p.id() == id)
}
