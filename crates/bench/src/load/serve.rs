//! The server process of one run (`botwire-bench serve …`, started by the bench itself): a
//! bare hyper server or botwire with the sample bot, pinned to one core, listening on
//! `127.0.0.1:0`. It prints `listening <addr>` and runs until the bench closes its stdin.

use std::error::Error;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use botwire::platforms::auth::Secret;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::store::{EmbeddedOptions, EmbeddedStore, LedgerLimits, MemoryLedger};
use botwire::{Channel, Running};
use botwire_store_redis::RedisStore;

use super::scenario::{FUNTEK_SECRET, FUNTEK_TOKEN, KAMIGO_SECRET, Server, Store};
use super::{affinity, bare};

/// The settings of one server process.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// `baseline`, `baseline+work`, or `<funtek|kamigo>/<memory|embedded|redis>`.
    #[arg(long)]
    server: String,
    /// The core to run on.
    #[arg(long)]
    core: Option<usize>,
    /// The Redis to use, for `…/redis`.
    #[arg(long)]
    redis_url: Option<String>,
    /// Where the embedded store's file goes, for `…/embedded`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Done deliveries the ledger keeps at most.
    #[arg(long, default_value_t = 1_000_000)]
    ledger_capacity: usize,
}

type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Runs the server until stdin closes.
///
/// # Errors
/// When the settings are wrong or the server does not start.
pub(crate) fn serve(args: &ServeArgs) -> BoxResult<()> {
    let server =
        Server::parse(&args.server).ok_or_else(|| format!("unknown server {:?}", args.server))?;
    if let Some(core) = args.core {
        // Before the runtime starts: its threads inherit the core.
        affinity::pin_current_thread(core)?;
    }
    // One worker thread: the server has one core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (addr, running) = match server {
            Server::Baseline => (bare::baseline().await?, None),
            Server::BaselineWork => (bare::with_work().await?, None),
            botwire_server => {
                let running = botwire(botwire_server, args).await?;
                (running.local_addr(), Some(running))
            }
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {addr}")?;
        out.flush()?;
        drop(out);
        tokio::task::spawn_blocking(|| {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                if line.is_err() {
                    break;
                }
            }
        })
        .await?;
        drop(running);
        Ok(())
    })
}

/// botwire with the sample bot on a FUNTEK and a Kamigo channel, on the scenario's store.
async fn botwire(server: Server, args: &ServeArgs) -> BoxResult<Running> {
    let funtek = FuntekAdapter::builder()
        .token(FUNTEK_TOKEN)
        .signing_secret(FUNTEK_SECRET)
        .build()?;
    let kamigo = KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)])?;
    let mut builder = botwire::Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_admin()
        .channel(Channel::new("funtek", funtek))
        .channel(Channel::new("kamigo", kamigo))
        .bot(echo_bot::bot()?);
    match server.store() {
        None | Some(Store::Memory) => {
            let limits = LedgerLimits::with_capacity(args.ledger_capacity);
            builder = builder.ledger(MemoryLedger::new(limits));
        }
        Some(Store::Embedded) => {
            let dir = args
                .data_dir
                .as_ref()
                .ok_or("the embedded store needs --data-dir")?;
            let options = EmbeddedOptions::default().with_ledger_capacity(args.ledger_capacity);
            let store = EmbeddedStore::open_with(dir.join("botwire.redb"), options)?;
            builder = builder.store(store);
        }
        Some(Store::Redis) => {
            let url = args
                .redis_url
                .as_ref()
                .ok_or("the Redis store needs --redis-url")?;
            let prefix = format!("bench-{}", std::process::id());
            let store = RedisStore::connect(url, &prefix).await?;
            builder = builder
                .ledger(store.clone())
                .state_store(store.clone())
                .queue(store.clone())
                .data(store);
        }
    }
    Ok(builder.bind().await?)
}
