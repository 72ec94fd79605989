//! `Server`: configure, bind, accept, shut down gracefully.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Bot, ConversationData, MemoryData};
use botwire_platforms::auth::Secret;
use botwire_platforms::{HttpOutbox, Outbox, RateLimits};
use botwire_store::{
    EmbeddedOptions, EmbeddedStore, Intake, Ledger, MemoryLedger, MemoryQueue, MemoryStateStore,
    Queue, StateStore,
};
use botwire_store_redis::{RedisOptions, RedisStore};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::Stores;
use crate::config::{ConfigError, Settings, StoreKind};
use crate::delivery_log::DeliveryLog;
use crate::respond::Body;
use crate::{App, Channel, Limits, Messages, Workers, admin, connection, worker};

/// The webhook receiver. Configure it, give it a bot, and [`serve`](Server::serve).
///
/// ```no_run
/// # async fn run(bot: botwire_core::Bot) -> Result<(), Box<dyn std::error::Error>> {
/// botwire_server::Server::from_env()?.bot(bot).serve().await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct Server {
    listen: SocketAddr,
    admin: Option<SocketAddr>,
    limits: Limits,
    workers: Workers,
    channels: Vec<Channel>,
    bot: Option<Arc<Bot>>,
    ledger: Option<Arc<dyn Ledger>>,
    states: Option<Arc<dyn StateStore>>,
    queue: Option<Arc<dyn Queue>>,
    data: Option<Arc<dyn ConversationData>>,
    /// Set with [`Server::store`]: the ledger and the queue are this one store.
    intake: Option<Arc<dyn Intake>>,
    outbox: Option<Arc<dyn Outbox>>,
    trusted_proxies: Vec<IpNet>,
    tls: Option<(PathBuf, PathBuf)>,
    redis: Option<RedisPlan>,
    delivery_log: usize,
}

/// A Redis store to connect to when the server binds.
struct RedisPlan {
    url: Secret,
    prefix: String,
    options: RedisOptions,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No channel is mounted.
    #[error(
        "no channel is mounted: set a platform's secret, e.g. BOTWIRE_FUNTEK_TOKEN (see README.md)"
    )]
    NoChannels,
    /// A channel has no bot, and the server has none to lend it.
    #[error("channel {0:?} has no bot: call Server::bot or Channel::with_bot")]
    NoBot(String),
    /// Two channels share a path.
    #[error("two channels are mounted at {0}")]
    DuplicatePath(String),
    /// Two channels share a name.
    #[error("two channels are named {0:?}")]
    DuplicateChannel(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be reached.
    #[error("cannot reach the store: {0}")]
    Store(#[source] botwire_store::StoreError),
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// Waiting for a shutdown signal failed.
    #[error("cannot wait for the shutdown signal: {0}")]
    Signal(#[source] std::io::Error),
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

impl Server {
    /// A server on the default address with default limits, memory stores, no admin listener
    /// and no channel yet.
    pub fn new() -> Self {
        Self {
            listen: crate::config::DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            admin: None,
            limits: Limits::default(),
            workers: Workers::default(),
            channels: Vec::new(),
            bot: None,
            ledger: None,
            states: None,
            queue: None,
            data: None,
            intake: None,
            outbox: None,
            trusted_proxies: Vec::new(),
            tls: None,
            redis: None,
            delivery_log: crate::delivery_log::DEFAULT_CAPACITY,
        }
    }

    /// A server configured from `BOTWIRE_CONFIG` (a TOML file) and `BOTWIRE_*` variables.
    ///
    /// # Errors
    /// When the file cannot be read, or a setting is unknown or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_settings(Settings::load(None)?)
    }

    /// The same, reading the TOML file at `path` (variables still win).
    ///
    /// # Errors
    /// As [`Server::from_env`].
    pub fn from_config_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_settings(Settings::load(Some(path))?)
    }

    /// A server from settings: every channel whose platform finds its secret set is mounted.
    ///
    /// # Errors
    /// When a channel's settings are unknown or malformed.
    pub fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        let mut server = Self::new()
            .listen(settings.listen)
            .limits(settings.limits)
            .workers(settings.workers);
        server.admin = settings.admin;
        server.trusted_proxies = settings.trusted_proxies;
        server.tls = settings.tls;
        match &settings.store {
            StoreKind::Memory => {}
            StoreKind::Redis { url, prefix } => {
                // Connecting is async: it happens in `bind`.
                server.redis = Some(RedisPlan {
                    url: url.clone(),
                    prefix: prefix.clone(),
                    options: RedisOptions::default().with_queue_capacity(settings.workers.capacity),
                });
            }
            StoreKind::Embedded { data_dir } => {
                let path = StoreKind::file(data_dir);
                let options =
                    EmbeddedOptions::default().with_queue_capacity(settings.workers.capacity);
                let store = EmbeddedStore::open_with(&path, options).map_err(|source| {
                    ConfigError::Store {
                        path: path.clone(),
                        source,
                    }
                })?;
                tracing::info!(path = %path.display(), "the store keeps everything in this file");
                server = server.store(store);
            }
        }
        for spec in settings.channels {
            let Some(platform) = botwire_platforms::platform(&spec.platform) else {
                return Err(spec.settings.error("platform", "unknown platform").into());
            };
            match platform.configure(&spec.settings)? {
                Some(adapter) => {
                    let mut channel = Channel::from_arc(&spec.name, adapter.clone())
                        .at(spec.path)
                        .allow_from(spec.allow_from);
                    // A URL of the user's own wins over the platform's send API.
                    let http_outbox = HttpOutbox::from_settings(&spec.settings)?;
                    let defaults = match (&http_outbox, adapter.outbox()) {
                        (None, Some(_)) => adapter.rate_limits(),
                        _ => RateLimits::none(),
                    };
                    if let Some(outbox) = http_outbox {
                        // Not the URL itself: it may carry credentials.
                        tracing::info!(channel = %spec.name, "replies are posted to its outbox_url");
                        channel = channel.with_outbox(outbox);
                    }
                    let token = spec.settings.rate("rate_limit")?;
                    let conversation = spec.settings.rate("conversation_rate_limit")?;
                    if token.is_some() || conversation.is_some() {
                        channel = channel.with_rate_limits(RateLimits {
                            token: token.unwrap_or(defaults.token),
                            conversation: conversation.unwrap_or(defaults.conversation),
                        });
                    }
                    server = server.channel(channel);
                }
                None if spec.settings.keys().next().is_some() => {
                    tracing::info!(channel = %spec.name, "not mounted: its secret is not set");
                }
                None => {}
            }
        }
        Ok(server)
    }

    /// Listens on `addr` (port 0 picks a free port; see [`Running::local_addr`]).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serves the admin endpoints (delivery log, dead letters, health) on `addr`; port 0 picks
    /// a free port (see [`Running::admin_addr`]). Keep it on loopback or a private network.
    pub fn admin(mut self, addr: SocketAddr) -> Self {
        self.admin = Some(addr);
        self
    }

    /// Serves no admin listener.
    pub fn without_admin(mut self) -> Self {
        self.admin = None;
        self
    }

    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the worker pool and retry policy of via-API platforms.
    pub fn workers(mut self, workers: Workers) -> Self {
        self.workers = workers;
        self
    }

    /// Sends the replies of via-API channels that have no outbox of their own and whose
    /// platform has no reply API (Kamigo, WeChatPadPro) through `outbox`, instead of only
    /// logging them.
    pub fn outbox(mut self, outbox: impl Outbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// Believes the forwarding headers (`Forwarded`, `X-Forwarded-For`) of requests from these
    /// addresses or blocks, your reverse proxies, when checking a channel's
    /// [`allow_from`](Channel::allow_from). Everyone else's are ignored.
    pub fn trusted_proxies(mut self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = nets.into_iter().collect();
        self
    }

    /// Serves the webhook listener over TLS with the certificate chain in `cert` and the private
    /// key in `key` (PEM files, read at [`bind`](Server::bind)). HTTP/2 and HTTP/1.1 are
    /// offered by ALPN. The admin listener stays plain: keep it on loopback.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert.into(), key.into()));
        self
    }

    /// Keeps the last `records` deliveries in the delivery log (default 1000).
    pub fn delivery_log(mut self, records: usize) -> Self {
        self.delivery_log = records;
        self
    }

    /// Mounts a channel.
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channels.push(channel);
        self
    }

    /// The bot that answers every channel without a bot of its own.
    pub fn bot(mut self, bot: impl Into<Arc<Bot>>) -> Self {
        self.bot = Some(bot.into());
        self
    }

    /// Keeps everything in `store`: the ledger, the states, the queue and what bots remember
    /// (the embedded store does). A via-API delivery's job and its acknowledgement are then
    /// written together, in one commit.
    pub fn store<S>(self, store: S) -> Self
    where
        S: Ledger + StateStore + Queue + ConversationData + Intake + Clone,
    {
        let mut server = self
            .ledger(store.clone())
            .state_store(store.clone())
            .queue(store.clone())
            .data(store.clone());
        server.intake = Some(Arc::new(store));
        server
    }

    /// Keeps the delivery ledger in `ledger` (default: in memory).
    pub fn ledger(mut self, ledger: impl Ledger) -> Self {
        self.ledger = Some(Arc::new(ledger));
        // The ledger is no longer the queue's store.
        self.intake = None;
        self
    }

    /// Keeps conversation states in `states` (default: in memory).
    pub fn state_store(mut self, states: impl StateStore) -> Self {
        self.states = Some(Arc::new(states));
        self
    }

    /// Queues via-API deliveries in `queue` (default: in memory, bounded by
    /// [`Workers::capacity`]).
    pub fn queue(mut self, queue: impl Queue) -> Self {
        self.queue = Some(Arc::new(queue));
        // The queue is no longer the ledger's store.
        self.intake = None;
        self
    }

    /// Keeps what bots remember per conversation (`Context::recall`/`remember`) in `data`
    /// (default: in memory).
    pub fn data(mut self, data: impl ConversationData) -> Self {
        self.data = Some(Arc::new(data));
        self
    }

    /// The mounted channels.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The receiver as a service, without a socket (for tests and embedding).
    ///
    /// # Errors
    /// When no channel is mounted, a channel has no bot, or two share a path.
    pub fn into_app(self) -> Result<App, ServeError> {
        let workers = self.workers;
        let stores = Stores {
            ledger: self
                .ledger
                .unwrap_or_else(|| Arc::new(MemoryLedger::default())),
            states: self
                .states
                .unwrap_or_else(|| Arc::new(MemoryStateStore::default())),
            queue: self.queue.unwrap_or_else(|| {
                Arc::new(MemoryQueue::new(workers.capacity, workers.dead_letters))
            }),
            data: self.data.unwrap_or_else(|| Arc::new(MemoryData::default())),
            intake: self.intake,
        };
        let log = Arc::new(DeliveryLog::new(self.delivery_log));
        let defaults = crate::app::Defaults {
            bot: self.bot,
            outbox: self.outbox,
            trusted_proxies: self.trusted_proxies,
        };
        App::new(self.channels, defaults, stores, self.limits, workers, log)
    }

    /// Binds the listen address and starts serving in the background.
    ///
    /// # Errors
    /// As [`Server::into_app`], or when the address cannot be bound.
    pub async fn bind(mut self) -> Result<Running, ServeError> {
        if let Some(plan) = self.redis.take() {
            let store = RedisStore::connect_with(plan.url.expose(), &plan.prefix, plan.options)
                .await
                .map_err(ServeError::Store)?;
            tracing::info!(prefix = %plan.prefix, "the store is on Redis");
            self = self
                .ledger(store.clone())
                .state_store(store.clone())
                .queue(store.clone())
                .data(store);
        }
        let addr = self.listen;
        let admin = self.admin;
        let tls = match &self.tls {
            Some((cert, key)) => Some(crate::tls::acceptor(cert, key)?),
            None => None,
        };
        let app = self.into_app()?;
        let listener = bind(addr).await?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ServeError::Bind { addr, source })?;
        let admin_listener = match admin {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let admin_addr = match &admin_listener {
            Some(l) => Some(l.local_addr().map_err(|source| ServeError::Bind {
                addr: admin.unwrap_or(addr),
                source,
            })?),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        for (path, channel) in app.routes() {
            tracing::info!(%channel, url = %format_args!("{scheme}://{local_addr}{path}"), "mounted");
        }
        if let Some(admin_addr) = admin_addr {
            tracing::info!(url = %format_args!("http://{admin_addr}/deliveries"), "admin listener");
        }

        let messages = app.messages();
        let stop = CancellationToken::new();
        let background = CancellationToken::new();
        tokio::spawn(purge_loop(app.ledger().clone(), background.clone()));
        let mut workers = tokio::task::JoinSet::new();
        if app.needs_workers() {
            for _ in 0..app.workers().workers {
                workers.spawn(worker::run(app.clone(), background.clone()));
            }
        }
        let admin_task = admin_listener.map(|listener| {
            let admin_app = app.clone();
            let service = move |request: Request<Incoming>| {
                let app = admin_app.clone();
                async move { admin::handle(&app, request).await }
            };
            tokio::spawn(accept_loop(
                listener,
                *app.limits(),
                None,
                background.clone(),
                service,
            ))
        });
        let task = tokio::spawn(run_until_stopped(
            listener,
            tls,
            app,
            stop.clone(),
            background,
            workers,
            admin_task,
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

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listen", &self.listen)
            .field("limits", &self.limits)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
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

/// What a stopped server left undone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stopped {
    /// Acknowledged via-API deliveries still queued when the grace period ended. They stay in
    /// the queue: a durable queue runs them after a restart; the memory queue loses them.
    pub unfinished: Vec<Unfinished>,
}

/// One acknowledged delivery a stopped server did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unfinished {
    /// Its channel.
    pub channel: String,
    /// Its conversation.
    pub conversation: String,
    /// The platform's delivery id.
    pub delivery_id: String,
}

/// How often expired ledger entries are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Drops expired done entries in the background, so memory follows the TTL and not only the
/// capacity bound. Each sweep works in small batches, so it never stalls deliveries.
async fn purge_loop(ledger: Arc<dyn Ledger>, stop: CancellationToken) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stop.cancelled() => return,
        }
        match ledger.purge_expired().await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "dropped expired ledger entries"),
            Err(error) => tracing::warn!(%error, "could not purge the ledger"),
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves webhooks until `stop`, then shuts down in order: connections, late handlers, the
/// queue (drained by the workers), and last the workers and the admin listener.
async fn run_until_stopped(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: App,
    stop: CancellationToken,
    background: CancellationToken,
    mut workers: tokio::task::JoinSet<()>,
    admin: Option<JoinHandle<()>>,
) -> Stopped {
    let limits = *app.limits();
    let service_app = app.clone();
    let service = move |request: Request<Incoming>| {
        let app = service_app.clone();
        async move { app.handle(request).await }
    };
    accept_loop(listener, limits, tls, stop, service).await;

    app.tasks().close();
    if tokio::time::timeout(limits.shutdown_grace, app.tasks().wait())
        .await
        .is_err()
    {
        tracing::warn!(
            still_running = app.tasks().len(),
            "late handlers still running after the grace period were abandoned"
        );
    }
    if !workers.is_empty() {
        drain(&app, limits.shutdown_grace).await;
    }
    background.cancel();
    // A worker finishes the attempt it is on (bounded by the handler timeout).
    while workers.join_next().await.is_some() {}
    let stopped = unfinished(&app).await;
    if let Some(admin) = admin
        && let Err(error) = admin.await
    {
        tracing::error!(%error, "the admin listener ended abnormally");
    }
    stopped
}

/// Names, one log line each, the acknowledged deliveries still queued once the workers stop.
async fn unfinished(app: &App) -> Stopped {
    let pending = match app.queue().pending().await {
        Ok(pending) => pending,
        Err(error) => {
            tracing::error!(%error, "cannot read the queue to list what is left undone");
            return Stopped::default();
        }
    };
    let unfinished = pending
        .into_iter()
        .map(|job| {
            tracing::warn!(
                channel = %job.channel,
                delivery_id = %job.delivery_id,
                conversation = %job.conversation,
                "acknowledged but not finished at shutdown: left in the queue"
            );
            Unfinished {
                channel: job.channel,
                conversation: job.conversation,
                delivery_id: job.delivery_id,
            }
        })
        .collect();
    Stopped { unfinished }
}

/// Waits until this instance's workers have nothing left to do (no job waiting for them or
/// held by them), or `grace` has passed. With a shared queue (Redis) other instances' work is
/// theirs to finish: only what this instance holds counts.
async fn drain(app: &App, grace: Duration) {
    let until = tokio::time::Instant::now() + grace;
    loop {
        let worked = app.worked().notified();
        tokio::pin!(worked);
        worked.as_mut().enable();
        let left = async {
            let waiting = app.queue().pending().await?.len();
            let held = app.queue().stats().await?.in_progress;
            Ok::<_, botwire_store::StoreError>(waiting + held)
        };
        match left.await {
            Ok(0) => return,
            Ok(left) => {
                if tokio::time::timeout_at(until, worked).await.is_err() {
                    tracing::warn!(
                        left,
                        "deliveries still queued after the grace period are left in the queue"
                    );
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the queue while draining it");
                return;
            }
        }
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
        handshake_timeout: limits.header_timeout,
        stop: stop.clone(),
        force: CancellationToken::new(),
        tasks: TaskTracker::new(),
        idle_timeout: limits.idle_timeout,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections));

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
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors or a reset before accept: log and go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::task::yield_now().await;
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
