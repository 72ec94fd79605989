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
