//! Serving a built receiver on botwire's own listeners: bind, accept within the limits, and
//! shut down gracefully in order (connections, then the engine, then the admin listener).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::respond::Body;
use crate::tls::TlsAcceptor;
use crate::{App, Built, Engine, Limits, Messages, ServeError, Server, Stopped, connection};

impl Server {
    /// Builds the server (see [`Server::build`]), binds its listeners and starts serving in
    /// the background.
    ///
    /// # Errors
    /// As [`Server::build`], or when an address cannot be bound or TLS cannot be loaded.
    pub async fn bind(self) -> Result<Running, ServeError> {
        let listeners = self.listeners();
        // Replay and send are on the admin listener: beyond loopback, only with a token.
        if let Some(addr) = listeners.admin
            && !addr.ip().is_loopback()
            && !listeners.admin_protected
        {
            return Err(ServeError::AdminUnprotected(addr));
        }
        let tls = match &listeners.tls {
            Some((cert, key)) => Some(crate::tls::acceptor(cert, key)?),
            None => None,
        };
        let Built {
            webhooks,
            admin,
            messages,
            engine,
            ..
        } = self.build().await?;
        let addr = listeners.webhooks;
        let listener = bind(addr).await?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let admin_listener = match listeners.admin {
            Some(addr) => {
                let listener = bind(addr).await?;
                let bound = listener
                    .local_addr()
                    .map_err(|source| ServeError::Bind { addr, source })?;
                Some((listener, bound))
            }
            None => None,
        };
        let admin_addr = admin_listener.as_ref().map(|(_, bound)| *bound);
        let scheme = if tls.is_some() { "https" } else { "http" };
        for (path, channel) in webhooks.routes() {
            tracing::info!(%channel, url = %format_args!("{scheme}://{local_addr}{path}"), "mounted");
        }
        if let Some(admin_addr) = admin_addr {
            tracing::info!(url = %format_args!("http://{admin_addr}/"), "admin listener (the delivery-log page)");
        }

        let stop = CancellationToken::new();
        let admin_stop = CancellationToken::new();
        let admin_task = admin_listener.map(|(listener, _)| {
            let service = move |request: Request<Incoming>| {
                let admin = admin.clone();
                async move { admin.handle(request).await }
            };
            tokio::spawn(accept_loop(
                listener,
                *webhooks.limits(),
                None,
                admin_stop.clone(),
                service,
            ))
        });
        let task = tokio::spawn(run_until_stopped(
            listener,
            tls,
            webhooks,
            engine,
            stop.clone(),
            (admin_stop, admin_task),
        ));
        Ok(Running {
            local_addr,
            admin_addr,
            messages,
            stop,
            task,
        })
    }

    /// Serves until ctrl-c or SIGTERM, then stops accepting, answers what is in flight and lets
    /// late handlers finish (within the shutdown grace period).
    ///
    /// # Errors
    /// As [`Server::bind`].
    pub async fn serve(self) -> Result<(), ServeError> {
        let running = self.bind().await?;
        tracing::info!(addr = %running.local_addr(), "botwire is listening");
        running.stop_on_signal()?.await;
        Ok(())
    }
}

/// A server that is accepting connections.
#[derive(Debug)]
pub struct Running {
    local_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    messages: Messages,
    stop: CancellationToken,
    task: JoinHandle<Stopped>,
}

impl Running {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the admin listener listens on, if there is one.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Sends messages by themselves (proactive) to any conversation of a mounted channel:
    /// from a timer, another service, anything outside a handler. Clone it freely.
    pub fn messages(&self) -> Messages {
        self.messages.clone()
    }

    /// Stops accepting, waits for in-flight requests, late handlers and queued deliveries (each
    /// up to the grace period), and returns when the server has stopped, with what it left
    /// undone.
    pub async fn shutdown(self) -> Stopped {
        self.stop.cancel();
        match self.task.await {
            Ok(stopped) => stopped,
            Err(error) => {
                tracing::error!(%error, "the accept loop ended abnormally");
                Stopped::default()
            }
        }
    }

    /// Catches ctrl-c and SIGTERM now, and returns a future that waits for one, then
    /// [`shutdown`](Running::shutdown)s. The handlers are in place when this returns, so a
    /// signal sent right after is not missed.
    ///
    /// # Errors
    /// When the signal handlers cannot be installed.
    pub fn stop_on_signal(self) -> Result<impl Future<Output = Stopped> + Send, ServeError> {
        let signal = shutdown_signal().map_err(ServeError::Signal)?;
        Ok(async move {
            signal.await;
            tracing::info!("shutting down: finishing in-flight deliveries");
            let stopped = self.shutdown().await;
            tracing::info!(unfinished = stopped.unfinished.len(), "stopped");
            stopped
        })
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves webhooks until `stop`, then shuts down in order: connections, the engine (late
/// handlers, the queue drained by the workers, the workers), and last the admin listener, so
/// an operator can watch the shutdown.
async fn run_until_stopped(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: App,
    engine: Engine,
    stop: CancellationToken,
    (admin_stop, admin): (CancellationToken, Option<JoinHandle<()>>),
) -> Stopped {
    let limits = *app.limits();
    let service = move |request: Request<Incoming>| {
        let app = app.clone();
        async move { app.handle(request).await }
    };
    accept_loop(listener, limits, tls, stop, service).await;
    let stopped = engine.shutdown().await;
    admin_stop.cancel();
    if let Some(admin) = admin
        && let Err(error) = admin.await
    {
        tracing::error!(%error, "the admin listener ended abnormally");
    }
    stopped
}

/// How long to wait after a failed `accept` before the next: from 5 ms, doubling, to 1 s.
#[derive(Debug, Default)]
struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const LONGEST: Duration = Duration::from_secs(1);

    fn next(&mut self) -> Duration {
        let wait = Self::FIRST.saturating_mul(1 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        wait.min(Self::LONGEST)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Accepts connections and serves each with `service` until `stop`, then lets open
/// connections finish within the grace period and drops those that do not.
async fn accept_loop<S, F>(
    listener: TcpListener,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
    service: S,
) where
    S: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let lifecycle = connection::Lifecycle {
        builder: Arc::new(http_builder(&limits)),
        tls,
        #[cfg(feature = "tls")]
        handshake_timeout: limits.header_timeout,
        stop: stop.clone(),
        force: CancellationToken::new(),
        tasks: TaskTracker::new(),
        idle_timeout: limits.idle_timeout,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = AcceptBackoff::default();

    loop {
        // Take a connection slot before accepting: past the limit, connections wait in the
        // backlog instead of being accepted and starved.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(error) => {
                    // Out of file descriptors, say: retrying at once would spin the core
                    // while nothing frees one. Wait, longer each time, then try again.
                    let wait = backoff.next();
                    tracing::warn!(%error, retry_in = ?wait, "accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = stop.cancelled() => break,
                    }
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        connection::spawn(&lifecycle, service.clone(), stream, peer, permit);
    }
    drop(listener);

    lifecycle.tasks.close();
    if tokio::time::timeout(limits.shutdown_grace, lifecycle.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = lifecycle.tasks.len(),
            "connections still open after the grace period were closed"
        );
        lifecycle.force.cancel();
        lifecycle.tasks.wait().await;
    }
}

/// hyper's HTTP/1 and HTTP/2 settings from the limits.
fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // The read buffer bounds the head: a longer one is answered 431.
        .max_buf_size(limits.header_bytes.max(crate::limits::MIN_HEADER_BYTES))
        .max_headers(limits.max_headers)
        // A sender may close its side once the request is out: the answer is still owed.
        .half_close(true)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .max_header_list_size(u32::try_from(limits.header_bytes).unwrap_or(u32::MAX))
        // Rapid reset (CVE-2023-44487): streams a client opens and cancels before they are
        // served count against this; past it the connection gets GOAWAY.
        .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(H2_MAX_ERROR_RESETS);
    builder
}

/// Streams one HTTP/2 connection may reset before they are served (h2's own default).
const H2_MAX_PENDING_RESETS: usize = 20;
/// Streams the server may reset for a client's protocol errors before it closes the
/// connection (h2's own default).
const H2_MAX_ERROR_RESETS: usize = 1024;

/// Installs the ctrl-c and SIGTERM handlers now; the future ends at the first signal.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_back_off_to_a_second_and_start_over_after_a_success() {
        let mut backoff = AcceptBackoff::default();
        let waits: Vec<_> = (0..10).map(|_| backoff.next()).collect();
        assert_eq!(waits[0], Duration::from_millis(5));
        assert_eq!(waits[1], Duration::from_millis(10));
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(waits[9], Duration::from_secs(1));
        for _ in 0..100 {
            assert!(backoff.next() <= Duration::from_secs(1));
        }
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(5));
    }
}
