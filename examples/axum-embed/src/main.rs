//! An axum app with botwire inside: the sample bot, configured from `BOTWIRE_*` as
//! `echo-bot` is, served by axum on `APP_LISTEN` (default `127.0.0.1:3000`), its admin
//! endpoints on `BOTWIRE_ADMIN_LISTEN` (default `127.0.0.1:9090`).

use std::net::SocketAddr;

use botwire::{Built, Server};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=debug".into()),
        )
        .init();
    let listen: SocketAddr = std::env::var("APP_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()?;
    let admin_listen: SocketAddr = std::env::var("BOTWIRE_ADMIN_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:9090".into())
        .parse()?;

    let Built {
        webhooks,
        admin,
        engine,
        ..
    } = Server::from_env()?.bot(echo_bot::bot()?).build().await?;
    // As `bind` would: replay and send are admin endpoints; beyond loopback, only with a token.
    if !admin_listen.ip().is_loopback() && !admin.requires_token() {
        return Err(format!(
            "the admin listener on {admin_listen} is not on loopback and no admin token is set: \
             set BOTWIRE_ADMIN_TOKEN, or listen on 127.0.0.1"
        )
        .into());
    }
    for (path, channel) in webhooks.routes() {
        tracing::info!(%channel, url = %format_args!("http://{listen}{}{path}", axum_embed::BOTS), "mounted");
    }
    let listener = TcpListener::bind(listen).await?;
    let admin_listener = TcpListener::bind(admin_listen).await?;
    tracing::info!(addr = %listener.local_addr()?, admin = %admin_listener.local_addr()?, "listening");

    let stopped = axum_embed::serve(
        listener,
        axum_embed::router(webhooks),
        (admin_listener, axum_embed::admin_router(admin)),
        engine,
        async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        },
    )
    .await?;
    tracing::info!(unfinished = stopped.unfinished.len(), "stopped");
    Ok(())
}
