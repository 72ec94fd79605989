//! A channel: one platform webhook mounted at one path, with the bot that answers it.

use std::fmt;
use std::sync::Arc;

use ipnet::IpNet;

use botwire_core::Bot;
use botwire_platforms::{Adapter, Outbox, RateLimits};

/// One mounted webhook. Built from settings by [`Server::from_env`](crate::Server::from_env), or
/// by hand with [`Channel::new`] and [`Server::channel`](crate::Server::channel).
#[derive(Clone)]
pub struct Channel {
    pub(crate) name: Arc<str>,
    pub(crate) path: String,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) bot: Option<Arc<Bot>>,
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
    pub(crate) allow_from: Vec<IpNet>,
    /// `None`: the platform's documented limits when sending through its own API.
    pub(crate) rate_limits: Option<RateLimits>,
}

impl Channel {
    /// A channel named `name`, mounted at `/webhooks/<name>`.
    pub fn new(name: &str, adapter: impl Adapter) -> Self {
        Self::from_arc(name, Arc::new(adapter))
    }

    /// The same, from a shared adapter.
    pub fn from_arc(name: &str, adapter: Arc<dyn Adapter>) -> Self {
        Self {
            name: name.into(),
            path: format!("/webhooks/{name}"),
            adapter,
            bot: None,
            outbox: None,
            allow_from: Vec::new(),
            rate_limits: None,
        }
    }

    /// Mounts the channel at `path` instead.
    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Answers this channel with its own bot rather than the server's.
    #[must_use]
    pub fn with_bot(mut self, bot: impl Into<Arc<Bot>>) -> Self {
        self.bot = Some(bot.into());
        self
    }

    /// Sends this channel's replies through `outbox` (via-API platforms), instead of the
    /// platform's own client or, for platforms without a reply API, the log.
    #[must_use]
    pub fn with_outbox(mut self, outbox: impl Outbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// Keeps this channel's sends within `limits` instead of the platform's documented ones
    /// (which apply only when it sends through the platform's own API client).
    /// [`RateLimits::none`] turns client-side limiting off.
    #[must_use]
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// Accepts deliveries only from these addresses or blocks (default: from anywhere). Behind
    /// a reverse proxy, name the proxy in [`Server::trusted_proxies`](crate::Server::trusted_proxies)
    /// so that the address it forwarded for is the one checked. Others get 403.
    #[must_use]
    pub fn allow_from(mut self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        self.allow_from = nets.into_iter().collect();
        self
    }

    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path it is mounted at.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The platform id.
    pub fn platform(&self) -> &'static str {
        self.adapter.platform()
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("adapter", &self.adapter)
            .field("allow_from", &self.allow_from)
            .finish_non_exhaustive()
    }
}
