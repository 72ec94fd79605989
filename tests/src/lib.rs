//! Helpers for the end-to-end suites in `tests/`: start a real server on a free loopback port.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::platforms::funtek::FuntekAdapter;
use botwire::{Bot, Channel, Limits, Running, Server};

/// The token the suites' FUNTEK channels accept.
pub const TOKEN: &str = "e2e-token";
/// Where the FUNTEK channel is mounted.
pub const PATH: &str = "/webhooks/funtek";

/// A FUNTEK adapter accepting [`TOKEN`] with this deadline.
pub fn funtek(deadline: Duration) -> FuntekAdapter {
    match FuntekAdapter::builder()
        .token(TOKEN)
        .deadline(deadline)
        .build()
    {
        Ok(adapter) => adapter,
        Err(e) => unreachable!("a token is set: {e}"),
    }
}

/// Starts `bot` on a FUNTEK channel at [`PATH`], on `127.0.0.1:0`.
pub async fn start(bot: Bot, deadline: Duration, limits: Limits) -> Running {
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .limits(limits)
        .channel(Channel::new("funtek", funtek(deadline)))
        .bot(bot);
    match server.bind().await {
        Ok(running) => running,
        Err(e) => panic!("the server starts: {e}"),
    }
}

/// Starts `bot` on `channel` on `127.0.0.1:0` with an admin listener, and these workers.
pub async fn start_channel(channel: Channel, bot: Bot, workers: botwire::Workers) -> Running {
    let server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .admin(SocketAddr::from(([127, 0, 0, 1], 0)))
        .workers(workers)
        .channel(channel)
        .bot(bot);
    match server.bind().await {
        Ok(running) => running,
        Err(e) => panic!("the server starts: {e}"),
    }
}

/// `BOTWIRE_STORE=memory`: suites that build servers from settings keep their stores in
/// memory (the default store is a file in the working directory) unless the test is about it.
pub fn in_memory() -> (String, String) {
    ("BOTWIRE_STORE".to_owned(), "memory".to_owned())
}

/// Workers that retry at once (1 ms backoff), so retry tests do not wait.
pub fn quick_retries(max_attempts: u32) -> botwire::Workers {
    botwire::Workers::default()
        .with_max_attempts(max_attempts)
        .with_backoff(Duration::from_millis(1), Duration::from_millis(1))
}
