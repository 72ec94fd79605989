//! Helpers for the end-to-end suites in `tests/`: start a real server on a free loopback port.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::platforms::auth::Secret;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::{Bot, Channel, Limits, Outbox, Running, Server};

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

/// A server (not started) with the sample bot on two channels: FUNTEK at [`PATH`] (5 s
/// deadline) and Kamigo, signed with `kamigo_secret`, replying into `outbox`.
pub fn funtek_and_kamigo(kamigo_secret: &str, outbox: impl Outbox) -> Server {
    let kamigo = match KamigoAdapter::new(&[Secret::new(kamigo_secret)]) {
        Ok(adapter) => adapter,
        Err(e) => unreachable!("a secret is set: {e}"),
    };
    let bot = match echo_bot::bot() {
        Ok(bot) => bot,
        Err(e) => unreachable!("the sample bot builds: {e}"),
    };
    Server::new()
        .channel(Channel::new("funtek", funtek(Duration::from_secs(5))))
        .channel(Channel::new("kamigo", kamigo).with_outbox(outbox))
        .bot(bot)
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

/// A server built from these `BOTWIRE_*` variables, as a user's would be, on a free loopback
/// port, with no admin listener and its stores in memory (the variables given win).
pub fn from_env(vars: &[(&str, &str)]) -> Server {
    let base = [
        ("BOTWIRE_LISTEN", "127.0.0.1:0"),
        ("BOTWIRE_ADMIN_LISTEN", "off"),
        ("BOTWIRE_STORE", "memory"),
    ];
    let all = base
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    match botwire::Settings::from_sources(None, all).and_then(Server::from_settings) {
        Ok(server) => server,
        Err(e) => panic!("the settings mount: {e}"),
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
