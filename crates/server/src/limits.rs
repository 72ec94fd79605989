//! Limits that keep one client from holding the server: sizes, read times, connections.

use std::time::Duration;

/// The smallest head limit hyper's HTTP/1 read buffer takes.
pub(crate) const MIN_HEADER_BYTES: usize = 8 * 1024;

/// How much the server accepts and for how long it waits. Defaults suit a public endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body, in bytes (default 1 MiB: chat events are a few KiB). Larger → 413.
    pub body_bytes: usize,
    /// Largest request head, in bytes (default 16 KiB, at least 8 KiB): request line and
    /// headers over HTTP/1, the decoded header list over HTTP/2. Larger → 431.
    pub header_bytes: usize,
    /// Most headers in one HTTP/1 request (default 64; platforms send about ten). More → 431.
    pub max_headers: usize,
    /// How long a client may take to send the request head (default 10 s): bounds slowloris.
    /// Over HTTP/1 the clock also runs while a kept-alive connection waits for its next
    /// request, so an idle HTTP/1 connection is closed after the shorter of this and
    /// [`idle_timeout`](Self::idle_timeout).
    pub header_timeout: Duration,
    /// How long a client may take to send the body once the head is in (default 10 s).
    pub body_timeout: Duration,
    /// How long a connection may sit with no request in flight and nothing received before it
    /// is closed (default 60 s; HTTP/2 gets a GOAWAY). Frees the slots of forgotten clients.
    pub idle_timeout: Duration,
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
            header_bytes: 16 * 1024,
            max_headers: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
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

    /// Sets [`header_bytes`](Self::header_bytes) (raised to 8 KiB if lower: hyper's floor).
    #[must_use]
    pub fn with_header_bytes(mut self, bytes: usize) -> Self {
        self.header_bytes = bytes.max(MIN_HEADER_BYTES);
        self
    }

    /// Sets [`max_headers`](Self::max_headers).
    #[must_use]
    pub fn with_max_headers(mut self, headers: usize) -> Self {
        self.max_headers = headers;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
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
