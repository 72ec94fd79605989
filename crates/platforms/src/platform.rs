//! A platform: what builds a channel's adapter from its settings.

use std::sync::Arc;

use crate::{Adapter, ChannelSettings, SettingError};

/// Builds a platform's adapter from a channel's settings.
///
/// Implement it for a platform of your own and register it with the server
/// (`Server::new().platform(…)`): its channels are then mounted from the TOML file and
/// `BOTWIRE_<ID>_<KEY>` variables exactly like the built-in ones (see the custom platform guide).
pub trait Platform: Send + Sync + 'static {
    /// The platform id (`funtek`, …): the default channel name and path segment. Lower case
    /// letters, digits and `_`, starting with a letter.
    fn id(&self) -> &'static str;

    /// The adapter for a channel of this platform, or `None` when its settings do not ask for
    /// one to be mounted (no secret set).
    ///
    /// # Errors
    /// When a setting is unknown or malformed; the error names the setting and where it came
    /// from, never its value ([`ChannelSettings::error`] builds one).
    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError>;
}
