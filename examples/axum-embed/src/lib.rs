//! botwire inside an axum app of your own.
//!
//! [`Server::build`](botwire::Server::build) gives the webhook receiver as a `tower::Service`;
//! the app nests it under `/bots` beside its own routes, puts a tower-http layer in front of
//! everything, tells botwire each request's peer address (so `allow_from` works), serves with
//! graceful shutdown, and then shuts botwire's engine down, which finishes late handlers and
//! the queue. The admin endpoints get a listener of their own, on loopback.
//!
//! `main.rs` runs it from `BOTWIRE_*` settings with the sample bot; `tests/embed.rs` drives it
//! over TCP. The guide is `docs/embedding.md`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use botwire::{Admin, App, Engine, PeerAddr, Stopped};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// Where the app nests botwire: FUNTEK then posts to `/bots/webhooks/funtek`.
pub const BOTS: &str = "/bots";

/// The app's routes, with botwire's receiver nested under [`BOTS`].
pub fn router(webhooks: App) -> Router {
    Router::new()
        .route("/", get(|| async { "my service, with a bot inside\n" }))
        .route("/status", get(|| async { "ok\n" }))
        .nest_service(BOTS, webhooks)
        .layer(middleware::from_fn(peer_addr))
        .layer(TraceLayer::new_for_http())
}

/// Tells botwire who is on the other end of the connection, from axum's `ConnectInfo`.
async fn peer_addr(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    next.run(request).await
}

/// The admin endpoints as an app of their own, for a private listener.
pub fn admin_router(admin: Admin) -> Router {
    Router::new().fallback_service(admin)
}

/// Serves `app` on `listener` and `admin` on `admin_listener` until `shutdown` resolves, then
/// lets open requests finish, and last shuts botwire's `engine` down: its late handlers and
/// its queue finish after the requests that fed them. Returns what the engine left undone.
///
/// # Errors
/// When a listener fails.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    (admin_listener, admin): (TcpListener, Router),
    engine: Engine,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Stopped> {
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = tokio::spawn(
        axum::serve(admin_listener, admin)
            .with_graceful_shutdown(async move {
                // Fired, or its sender dropped: either way, stop.
                let _ = admin_stopped.await;
            })
            .into_future(),
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    let stopped = engine.shutdown().await;
    // The admin listener last: an operator can watch the shutdown to its end.
    let _ = stop_admin.send(());
    match admin_task.await {
        Ok(served) => served?,
        Err(error) => tracing::error!(%error, "the admin listener ended abnormally"),
    }
    Ok(stopped)
}
