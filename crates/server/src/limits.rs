//! Limits that keep one client from holding the server: sizes, read times, connections.

use std::time::Duration;

/// How much the server accepts and for how long it waits. Defaults suit a public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body, in bytes (default 1 MiB: chat events are a few KiB). Larger → 413.
    pub body_bytes: usize,
    /// How long a client may take to send the request head (default 10 s): bounds slowloris.
    pub header_timeout: Duration,
    /// How long a client may take to send the body once the head is in (default 10 s).
    pub body_timeout: Duration,
    /// Connections served at once (default 1,024). Past it, new connections wait in the
    /// listen backlog rather than being refused.
    pub max_connections: usize,
    /// HTTP/2 streams one connection may run at once (default 64).
    pub max_streams: u32,
    /// How long shutdown waits for in-flight requests and late handlers (default 30 s).
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_streams: 64,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl Limits {
    /// Sets [`body_bytes`](Self::body_bytes).
    #[must_use]
    pub fn with_body_bytes(mut self, bytes: usize) -> Self {
        self.body_bytes = bytes;
        self
    }

    /// Sets [`header_timeout`](Self::header_timeout).
    #[must_use]
    pub fn with_header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// Sets [`body_timeout`](Self::body_timeout).
    #[must_use]
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Sets [`max_connections`](Self::max_connections).
    #[must_use]
    pub fn with_max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections;
        self
    }

    /// Sets [`max_streams`](Self::max_streams).
    #[must_use]
    pub fn with_max_streams(mut self, streams: u32) -> Self {
        self.max_streams = streams;
        self
    }

    /// Sets [`shutdown_grace`](Self::shutdown_grace).
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
