//! One accepted connection: served by hyper (HTTP/1 or HTTP/2), closed when it sits idle, and
//! shut down gracefully (then, past the grace period, dropped) when the server stops.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client_addr::PeerAddr;
use crate::respond::Body;
use crate::tls::TlsAcceptor;

/// How the connections of one listener are served and how they end.
#[derive(Clone)]
pub(crate) struct Lifecycle {
    pub(crate) builder: Arc<auto::Builder<TokioExecutor>>,
    /// TLS, when the listener has it.
    pub(crate) tls: Option<TlsAcceptor>,
    /// Cancelled when the server stops accepting: connections finish what they have and close.
    pub(crate) stop: CancellationToken,
    /// Cancelled when the grace period is over: connections still open are dropped.
    pub(crate) force: CancellationToken,
    /// Every connection task, to wait for at shutdown.
    pub(crate) tasks: TaskTracker,
    pub(crate) idle_timeout: Duration,
    /// How long a TLS handshake may take (the header timeout).
    #[cfg(feature = "tls")]
    pub(crate) handshake_timeout: Duration,
}

/// Serves `stream` with `service` on a task of its own, holding `permit` until it closes.
pub(crate) fn spawn<S, F>(
    lifecycle: &Lifecycle,
    service: S,
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) where
    S: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    // Webhook answers are small; send them without waiting to fill a segment.
    let _ = stream.set_nodelay(true);
    let lifecycle = lifecycle.clone();
    lifecycle.tasks.clone().spawn(async move {
        match lifecycle.tls.clone() {
            None => serve(&lifecycle, service, stream, peer).await,
            #[cfg(not(feature = "tls"))]
            Some(none) => match none {},
            #[cfg(feature = "tls")]
            Some(acceptor) => {
                let handshake =
                    tokio::time::timeout(lifecycle.handshake_timeout, acceptor.accept(stream));
                let accepted = tokio::select! {
                    accepted = handshake => accepted,
                    () = lifecycle.stop.cancelled() => return,
                };
                match accepted {
                    Ok(Ok(stream)) => serve(&lifecycle, service, stream, peer).await,
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            }
        }
        drop(permit);
    });
}

/// Serves one connection until it ends, is idle too long, or the server stops.
async fn serve<S, F, IO>(lifecycle: &Lifecycle, service: S, stream: IO, peer: SocketAddr)
where
    S: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let counted = activity.clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        let in_flight = InFlight::start(&counted);
        let response = service(request);
        async move {
            let response = response.await;
            drop(in_flight);
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let connection = lifecycle.builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                break;
            }
            () = lifecycle.stop.cancelled(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.idle_for(lifecycle.idle_timeout), if !closing => {
                tracing::debug!(%peer, "closing an idle connection");
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = lifecycle.force.cancelled() => {
                tracing::debug!(%peer, "dropping a connection still open after the grace period");
                break;
            }
        }
    }
}

/// When a connection last received bytes, and how many of its requests are being answered.
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened`.
    last_read: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_read: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_read.store(elapsed, Ordering::Relaxed);
    }

    /// Returns once the connection has received nothing and answered nothing for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last_read.load(Ordering::Relaxed));
            let deadline = self.opened + last + idle;
            if Instant::now() >= deadline && self.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            // A request in flight keeps the connection busy: look again a period later.
            tokio::time::sleep_until(deadline.max(Instant::now() + idle / 4)).await;
        }
    }
}

/// Counts one request as in flight until dropped (also when its handler is cancelled).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream that notes when it last received bytes.
struct Watched<IO> {
    inner: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
