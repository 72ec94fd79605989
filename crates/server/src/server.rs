//! `Server`: what a receiver is made of — channels, bots, stores, limits — as configuration
//! only. Nothing is opened, bound or started until [`Server::build`] (to embed) or
//! [`Server::bind`] (to serve).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use botwire_core::{Bot, ConversationData};
#[cfg(feature = "send-api")]
use botwire_platforms::HttpOutbox;
use botwire_platforms::auth::Secret;
use botwire_platforms::{ChannelSettings, Outbox, Platform, Platforms, RateLimits, SettingError};
use botwire_store::{Intake, Ledger, Queue, StateStore, Timers};
use ipnet::IpNet;

use crate::admin::Access;
use crate::config::{ConfigError, Settings};
use crate::stores::{Configured, StorePlan, Stores};
use crate::{Admin, App, Channel, Engine, Limits, Messages, ServeError, Workers};

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
    /// Who may use the admin endpoints (none: anyone, on loopback only).
    admin_tokens: Vec<Secret>,
    metrics_open: bool,
    limits: Limits,
    workers: Workers,
    channels: Vec<Channel>,
    bot: Option<Arc<Bot>>,
    stores: StorePlan,
    outbox: Option<Arc<dyn Outbox>>,
    trusted_proxies: Vec<IpNet>,
    tls: Option<(PathBuf, PathBuf)>,
    delivery_log: usize,
    platforms: Platforms,
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
            admin_tokens: Vec::new(),
            metrics_open: false,
            limits: Limits::default(),
            workers: Workers::default(),
            channels: Vec::new(),
            bot: None,
            stores: StorePlan::default(),
            outbox: None,
            trusted_proxies: Vec::new(),
            tls: None,
            delivery_log: crate::delivery_log::DEFAULT_CAPACITY,
            platforms: Platforms::builtin(),
        }
    }

    /// A server configured from `BOTWIRE_CONFIG` (a TOML file) and `BOTWIRE_*` variables.
    ///
    /// # Errors
    /// When the file cannot be read, or a setting is unknown or malformed.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new().configure_from_env()
    }

    /// The same, reading the TOML file at `path` (variables still win).
    ///
    /// # Errors
    /// As [`Server::from_env`].
    pub fn from_config_file(path: &Path) -> Result<Self, ConfigError> {
        Self::new().configure_from_file(path)
    }

    /// A server from settings: every channel whose platform finds its secret set is mounted.
    ///
    /// # Errors
    /// When a channel's settings are unknown or malformed.
    pub fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        Self::new().configure(settings)
    }

    /// Adds a platform of your own, so that [`configure_from_env`](Server::configure_from_env)
    /// and the TOML file mount its channels like the built-in ones: `BOTWIRE_<ID>_<KEY>`
    /// variables, `[channels.<name>]` with `platform = "<id>"`. A platform with the id of a
    /// built-in one replaces it. Register platforms before configuring.
    ///
    /// ```no_run
    /// # fn run(my_chat: impl botwire_platforms::Platform, bot: botwire_core::Bot)
    /// #     -> Result<(), botwire_server::ConfigError> {
    /// let server = botwire_server::Server::new()
    ///     .platform(my_chat)
    ///     .configure_from_env()?
    ///     .bot(bot);
    /// # Ok(()) }
    /// ```
    pub fn platform(mut self, platform: impl Platform) -> Self {
        self.platforms.register(Arc::new(platform));
        self
    }

    /// Reads `BOTWIRE_CONFIG` (a TOML file) and `BOTWIRE_*` variables for this server's
    /// platforms and applies them (see [`configure`](Server::configure)).
    ///
    /// # Errors
    /// As [`Server::from_env`].
    pub fn configure_from_env(self) -> Result<Self, ConfigError> {
        let settings = Settings::load_with(None, &self.platforms)?;
        self.configure(settings)
    }

    /// The same, reading the TOML file at `path` (variables still win).
    ///
    /// # Errors
    /// As [`Server::from_env`].
    pub fn configure_from_file(self, path: &Path) -> Result<Self, ConfigError> {
        let settings = Settings::load_with(Some(path), &self.platforms)?;
        self.configure(settings)
    }

    /// Applies `settings`: the listen addresses, limits, queue and store they name, and a
    /// channel for each platform that finds its secret set. What they set replaces what was
    /// set before; builder calls after this one override them in turn.
    ///
    /// # Errors
    /// When a channel's settings are unknown or malformed, or name a platform this server
    /// does not know.
    pub fn configure(self, settings: Settings) -> Result<Self, ConfigError> {
        let mut server = self
            .listen(settings.listen)
            .limits(settings.limits)
            .workers(settings.workers);
        server.admin = settings.admin;
        if settings.metrics_open {
            server.metrics_open = true;
        }
        if !settings.admin_tokens.is_empty() {
            server.admin_tokens = settings.admin_tokens;
        }
        server.trusted_proxies = settings.trusted_proxies;
        server.tls = settings.tls;
        // Opened (or connected to) by `build`, and only for the slots the user leaves empty.
        server.stores.configured = Configured::from_settings(&settings.store, &settings.workers)?;
        for spec in settings.channels {
            let Some(platform) = server.platforms.get(&spec.platform) else {
                return Err(spec
                    .settings
                    .error(
                        "platform",
                        "unknown platform: not registered with this server",
                    )
                    .into());
            };
            match platform.configure(&spec.settings)? {
                Some(adapter) => {
                    let mut channel = Channel::from_arc(&spec.name, adapter.clone())
                        .at(spec.path)
                        .allow_from(spec.allow_from);
                    // A URL of the user's own wins over the platform's send API.
                    let http_outbox = outbox_url(&spec.settings)?;
                    let defaults = match (&http_outbox, adapter.outbox()) {
                        (None, Some(_)) => adapter.rate_limits(),
                        _ => RateLimits::none(),
                    };
                    if let Some(outbox) = http_outbox {
                        // Not the URL itself: it may carry credentials.
                        tracing::info!(channel = %spec.name, "replies are posted to its outbox_url");
                        channel.outbox = Some(outbox);
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

    /// Requires `token` as `Authorization: Bearer` on every admin endpoint but `/healthz`
    /// (`BOTWIRE_ADMIN_TOKEN`). Call it again to accept another one while rotating. Without a
    /// token, [`bind`](Server::bind) refuses an admin address that is not loopback.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_tokens.push(Secret::new(token));
        self
    }

    /// Serves `/metrics` without the admin token when `open` (`BOTWIRE_METRICS_OPEN=true`),
    /// for a scraper that cannot send one. Everything else on the admin listener still
    /// needs the token.
    pub fn metrics_open(mut self, open: bool) -> Self {
        self.metrics_open = open;
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

    /// Keeps everything in `store`: the ledger, the states, the queue, the state timeouts'
    /// timers and what bots remember (the embedded store does). A via-API delivery's job and
    /// its acknowledgement are then written together, in one commit.
    pub fn store<S>(mut self, store: S) -> Self
    where
        S: Ledger + StateStore + Queue + ConversationData + Timers + Intake + Clone,
    {
        self.stores.all(store);
        self
    }

    /// Keeps the delivery ledger in `ledger` (default: the configured store, else memory).
    pub fn ledger(mut self, ledger: impl Ledger) -> Self {
        self.stores.ledger = Some(Arc::new(ledger));
        // The ledger is no longer the queue's store.
        self.stores.intake = None;
        self
    }

    /// Keeps conversation states in `states` (default: the configured store, else memory).
    pub fn state_store(mut self, states: impl StateStore) -> Self {
        self.stores.states = Some(Arc::new(states));
        self
    }

    /// Queues via-API deliveries in `queue` (default: the configured store, else memory,
    /// bounded by [`Workers::capacity`]).
    pub fn queue(mut self, queue: impl Queue) -> Self {
        self.stores.queue = Some(Arc::new(queue));
        // The queue is no longer the ledger's store.
        self.stores.intake = None;
        self
    }

    /// Keeps what bots remember per conversation (`Context::recall`/`remember`) in `data`
    /// (default: the configured store, else memory).
    pub fn data(mut self, data: impl ConversationData) -> Self {
        self.stores.data = Some(Arc::new(data));
        self
    }

    /// Keeps state timeouts' timers in `timers` (default: the configured store, else memory).
    /// A store of your own given with [`store`](Self::store) keeps them only if given here
    /// too; memory forgets them on restart.
    pub fn timers(mut self, timers: impl Timers) -> Self {
        self.stores.timers = Some(Arc::new(timers));
        self
    }

    /// The mounted channels.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// Opens or connects to the stores, checks the channels, and starts the engine: the
    /// webhook service, the admin service and the [`Engine`] to serve them with your own HTTP
    /// server (see `docs/embedding.md`). Listens on nothing: `listen`, `admin` and `tls` are
    /// [`bind`](Server::bind)'s.
    ///
    /// ```
    /// # use botwire_core::{Bot, Reply, handler_fn};
    /// # use botwire_platforms::funtek::FuntekAdapter;
    /// use botwire_server::{Built, Channel, Server};
    /// use tower::ServiceExt as _;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let bot = Bot::builder().initial("idle").state("idle", handler_fn(|_cx, _ev| async move {
    /// #     Ok(Reply::text("hi"))
    /// # })).build()?;
    /// let adapter = FuntekAdapter::builder().token("t").build()?;
    /// let Built { webhooks, engine, .. } =
    ///     Server::new().channel(Channel::new("funtek", adapter)).bot(bot).build().await?;
    ///
    /// let health = http::Request::get("/healthz").body(http_body_util::Empty::<bytes::Bytes>::new())?;
    /// let response = webhooks.oneshot(health).await?;
    /// assert_eq!(response.status(), 200);
    ///
    /// let stopped = engine.shutdown().await;
    /// assert!(stopped.unfinished.is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// When no channel is mounted, a channel has no bot, two share a path or a name, or the
    /// configured store cannot be opened or reached.
    pub async fn build(self) -> Result<Built, ServeError> {
        let (stores, assembly) = self.split();
        let stores = stores.open(&assembly.workers).await?;
        let access = assembly.access.clone();
        let app = assembly.app(stores)?;
        Ok(Built::start(app, access))
    }

    /// The webhook service alone, without opening anything or starting the engine: nothing
    /// works off the queue, and late handlers are not waited for. For fuzzing and tests of
    /// the request path; to embed botwire, [`build`](Server::build) it.
    ///
    /// # Errors
    /// As [`Server::build`]; [`ServeError::StoreNotOpened`] when the settings name a store
    /// (embedded, Redis) that only `build` opens.
    pub fn into_app(self) -> Result<App, ServeError> {
        let (stores, assembly) = self.split();
        if stores.needs_opening() {
            return Err(ServeError::StoreNotOpened);
        }
        let stores = stores.in_memory_for_the_rest(&assembly.workers);
        assembly.app(stores)
    }

    /// The stores to open apart from everything else an [`App`] is made of.
    fn split(self) -> (StorePlan, Assembly) {
        let assembly = Assembly {
            channels: self.channels,
            defaults: crate::app::Defaults {
                bot: self.bot,
                outbox: self.outbox,
                trusted_proxies: self.trusted_proxies,
            },
            limits: self.limits,
            workers: self.workers,
            delivery_log: self.delivery_log,
            access: Access::new(&self.admin_tokens).metrics_open(self.metrics_open),
        };
        (self.stores, assembly)
    }

    /// Where [`bind`](Server::bind) listens: the webhooks, the admin endpoints, and TLS.
    pub(crate) fn listeners(&self) -> Listeners {
        Listeners {
            webhooks: self.listen,
            admin: self.admin,
            admin_protected: !self.admin_tokens.is_empty(),
            tls: self.tls.clone(),
        }
    }
}

/// What `bind` listens on, read before the server is built.
pub(crate) struct Listeners {
    pub(crate) webhooks: SocketAddr,
    pub(crate) admin: Option<SocketAddr>,
    /// Whether the admin endpoints need a token.
    pub(crate) admin_protected: bool,
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
}

/// Everything of an [`App`] but its stores.
struct Assembly {
    channels: Vec<Channel>,
    defaults: crate::app::Defaults,
    limits: Limits,
    workers: Workers,
    delivery_log: usize,
    access: Access,
}

impl Assembly {
    fn app(self, stores: Stores) -> Result<App, ServeError> {
        App::new(
            self.channels,
            self.defaults,
            stores,
            self.limits,
            self.workers,
            self.delivery_log,
        )
    }
}

/// A built server: serve [`webhooks`](Built::webhooks) and [`admin`](Built::admin) with your
/// own HTTP server, and [`shutdown`](Engine::shutdown) the [`engine`](Built::engine) once that
/// server has stopped.
#[derive(Debug)]
#[non_exhaustive]
pub struct Built {
    /// The webhook receiver: a `tower::Service` that never fails. Mount it where the
    /// platforms post (its paths are the channels' paths, `/healthz` and `/readyz`).
    pub webhooks: App,
    /// The admin endpoints: keep them on a private address or behind authentication.
    pub admin: Admin,
    /// Sends messages by themselves (proactive), as handlers do with `Context::send`.
    pub messages: Messages,
    /// The workers and the purge loop, running; shut it down last.
    pub engine: Engine,
}

impl Built {
    fn start(app: App, access: Access) -> Self {
        Self {
            admin: Admin::new(app.clone(), access),
            messages: app.messages(),
            engine: Engine::start(&app),
            webhooks: app,
        }
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

/// The outbox of a channel's `outbox_url` and `outbox_secret`, when set.
#[cfg(feature = "send-api")]
fn outbox_url(settings: &ChannelSettings) -> Result<Option<Arc<dyn Outbox>>, SettingError> {
    Ok(HttpOutbox::from_settings(settings)?.map(|outbox| Arc::new(outbox) as Arc<dyn Outbox>))
}

/// Without the HTTP client compiled in, `outbox_url` is refused, not ignored.
#[cfg(not(feature = "send-api"))]
fn outbox_url(settings: &ChannelSettings) -> Result<Option<Arc<dyn Outbox>>, SettingError> {
    settings.refuse_without("send-api", &["outbox_url", "outbox_secret"])?;
    Ok(None)
}
