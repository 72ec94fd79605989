//! Why a server could not be built, could not start, or stopped.

use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::tls::TlsError;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No channel is mounted.
    #[error(
        "no channel is mounted: set a platform's secret, e.g. BOTWIRE_FUNTEK_TOKEN (see README.md)"
    )]
    NoChannels,
    /// A channel has no bot, and the server has none to lend it.
    #[error("channel {0:?} has no bot: call Server::bot or Channel::with_bot")]
    NoBot(String),
    /// Two channels share a path.
    #[error("two channels are mounted at {0}")]
    DuplicatePath(String),
    /// Two channels share a name.
    #[error("two channels are named {0:?}")]
    DuplicateChannel(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be reached.
    #[error("cannot reach the store: {0}")]
    Store(#[source] botwire_store::StoreError),
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// [`Server::into_app`](crate::Server::into_app) was asked for a store it cannot open by itself.
    #[error(
        "the configured store (embedded or Redis) is opened by Server::build().await or bind(); \
         into_app() uses only the stores given to it, and memory"
    )]
    StoreNotOpened,
    /// The admin listener would be reachable beyond this host with no token required.
    #[error(
        "the admin listener on {0} is not on loopback and no admin token is set: set \
         BOTWIRE_ADMIN_TOKEN (admin_token), or listen on 127.0.0.1"
    )]
    AdminUnprotected(SocketAddr),
    /// Waiting for a shutdown signal failed.
    #[error("cannot wait for the shutdown signal: {0}")]
    Signal(#[source] std::io::Error),
}
