//! Settings from a TOML file and `BOTWIRE_*` environment variables (which win).
//!
//! Server-wide variables have fixed names (`BOTWIRE_LISTEN`, …). A channel's settings are
//! `BOTWIRE_<CHANNEL>_<KEY>`: `BOTWIRE_FUNTEK_TOKEN` is the key `token` of the channel `funtek`.
//! Every platform has an implicit channel named after it, mounted at `/webhooks/<platform>`
//! once its secret is set; the file can add more (`[channels.<name>]` with `platform` and
//! `path`). This module names no platform: each one reads its own keys, and a platform the
//! user registers ([`Settings::load_with`]) gets its implicit channel and variables the same way.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use botwire_platforms::auth::Secret;
use ipnet::IpNet;

use botwire_platforms::{ChannelSettings, Platforms, SettingError, SettingValue};

use crate::{Limits, Workers};

/// Where the server listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where the admin listener listens by default (`off` turns it off).
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9090";

/// Everything the server reads from its configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Proxies whose forwarding headers are believed (`trusted_proxies`).
    pub trusted_proxies: Vec<IpNet>,
    /// The TLS certificate chain and private key files (`tls_cert`, `tls_key`), when set.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Request and connection limits.
    pub limits: Limits,
    /// The admin listener's address (`None`: no admin listener).
    pub admin: Option<SocketAddr>,
    /// The tokens the admin endpoints take (`admin_token`, comma-separated for rotation);
    /// none: open, on loopback only.
    pub admin_tokens: Vec<Secret>,
    /// Whether `/metrics` is served without the admin token (`metrics_open`), for scrapers.
    pub metrics_open: bool,
    /// The worker pool and retry policy of via-API platforms.
    pub workers: Workers,
    /// Which store keeps the ledger.
    pub store: StoreKind,
    /// The channels that have settings (mounted or not: a platform decides).
    pub channels: Vec<ChannelSpec>,
}

/// A channel as configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChannelSpec {
    /// The channel name.
    pub name: String,
    /// The platform id.
    pub platform: String,
    /// The path it is mounted at.
    pub path: String,
    /// Who may deliver to it (empty: anyone).
    pub allow_from: Vec<IpNet>,
    /// Its settings, for the platform to read.
    pub settings: ChannelSettings,
}

/// The store backend.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// One crash-safe file in `data_dir` (the default): survives restarts.
    Embedded {
        /// The directory of the store file (`data_dir`, default `./botwire-data`).
        data_dir: PathBuf,
    },
    /// In memory: forgotten on restart.
    Memory,
    /// A Redis (or Valkey) server, shared by several instances.
    Redis {
        /// `redis://…` or `rediss://…`; may carry a password, so it never prints.
        url: Secret,
        /// The prefix of every key (`redis_prefix`, default `botwire`): one per deployment.
        prefix: String,
    },
}

impl StoreKind {
    /// The store file of an embedded store in `data_dir`.
    pub fn file(data_dir: &Path) -> PathBuf {
        data_dir.join(STORE_FILE)
    }
}

/// The store when `store` is not set: the embedded one, when this build has it.
const DEFAULT_STORE: &str = if cfg!(feature = "embedded") {
    "embedded"
} else {
    "memory"
};

/// Where the embedded store lives unless `data_dir` says otherwise.
pub const DEFAULT_DATA_DIR: &str = "./botwire-data";
/// The embedded store's file name within `data_dir`.
const STORE_FILE: &str = "botwire.redb";

/// A configuration that cannot be used. Names the file, key or variable; never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("the config file {path} is not valid TOML: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A setting is unknown or malformed.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The settings ask for something this build of botwire left out.
    #[error("{setting}: needs botwire's `{feature}` cargo feature, which this build leaves out")]
    LeftOut {
        /// The setting (`store`, `tls_cert`).
        setting: &'static str,
        /// The cargo feature of the `botwire` crate that provides it.
        feature: &'static str,
    },
    /// The store could not be opened.
    #[error("cannot open the store {path}: {source}")]
    Store {
        /// The store file.
        path: PathBuf,
        /// Why.
        #[source]
        source: botwire_store::StoreError,
    },
}

/// Top-level settings (`BOTWIRE_<KEY>` in upper case).
const SERVER_KEYS: [&str; 10] = [
    "listen",
    "admin_listen",
    "admin_token",
    "metrics_open",
    "store",
    "data_dir",
    "redis_prefix",
    "trusted_proxies",
    "tls_cert",
    "tls_key",
];
const QUEUE_PREFIX: &str = "QUEUE_";
const QUEUE_KEYS: [&str; 8] = [
    "workers",
    "capacity",
    "dead_letters",
    "max_attempts",
    "retry_base",
    "retry_max",
    "handler_timeout",
    "timer_poll",
];
const CONFIG: &str = "CONFIG";
const LIMIT_KEYS: [&str; 9] = [
    "body_bytes",
    "header_bytes",
    "max_headers",
    "idle_timeout",
    "header_timeout",
    "body_timeout",
    "max_connections",
    "max_streams",
    "shutdown_grace",
];
/// Words a channel may not be named, since server-wide variables start with them.
const RESERVED: [&str; 15] = [
    "listen", "store", "config", "data", "admin", "body", "header", "max", "shutdown", "log",
    "queue", "idle", "trusted", "tls", "redis",
];

impl Settings {
    /// Reads `BOTWIRE_CONFIG` (or `path`, when given) and the process environment, for the
    /// built-in platforms.
    ///
    /// # Errors
    /// When the file cannot be read or a setting is unknown or malformed.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, &Platforms::builtin())
    }

    /// The same, for `platforms`: each has a channel named after it, and a channel's
    /// `platform` must name one of them.
    ///
    /// # Errors
    /// As [`Settings::load`]; also when a platform's id cannot name a channel.
    pub fn load_with(path: Option<&Path>, platforms: &Platforms) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| name.starts_with("BOTWIRE_"))
            .collect();
        let from_env = env
            .iter()
            .find(|(name, _)| name == "BOTWIRE_CONFIG")
            .map(|(_, value)| PathBuf::from(value));
        let file = match path.map(Path::to_path_buf).or(from_env) {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        Self::from_sources_with(
            file.as_ref().map(|(p, t)| (p.as_str(), t.as_str())),
            env,
            platforms,
        )
    }

    /// Settings from a TOML text (named `origin` in errors) and environment variables.
    ///
    /// # Errors
    /// When the text is not TOML or a setting is unknown or malformed.
    pub fn from_sources(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::from_sources_with(file, env, &Platforms::builtin())
    }

    /// The same, for `platforms` (see [`Settings::load_with`]).
    ///
    /// # Errors
    /// As [`Settings::from_sources`]; also when a platform's id cannot name a channel.
    pub fn from_sources_with(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        platforms: &Platforms,
    ) -> Result<Self, ConfigError> {
        for id in platforms.ids() {
            check_channel_name(id, &format!("the platform id {id:?}"))?;
        }
        let mut builder = Builder::new(platforms);
        if let Some((origin, text)) = file {
            let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Toml {
                path: origin.to_owned(),
                message: e.message().to_owned(),
            })?;
            builder.file(origin, table)?;
        }
        builder.env(env)?;
        builder.finish()
    }
}

struct Builder<'p> {
    platforms: &'p Platforms,
    server: ChannelSettings,
    limits: ChannelSettings,
    queue: ChannelSettings,
    channels: BTreeMap<String, ChannelSettings>,
}

impl<'p> Builder<'p> {
    /// Named as the file's tables are, so that an error about a setting left unset still
    /// says where it goes (`queue.retry_max`, not `.retry_max`).
    fn new(platforms: &'p Platforms) -> Self {
        Self {
            platforms,
            // Top-level keys: an error names the key alone.
            server: ChannelSettings::new(""),
            limits: ChannelSettings::new("limits"),
            queue: ChannelSettings::new("queue"),
            channels: BTreeMap::new(),
        }
    }

    fn file(&mut self, origin: &str, table: toml::Table) -> Result<(), ConfigError> {
        for (key, value) in table {
            match key.as_str() {
                "limits" => {
                    for (key, value) in expect_table(origin, "limits", value)? {
                        let source = format!("{origin}: limits.{key}");
                        self.limits.set(key, setting(&source, value)?, source);
                    }
                }
                "channels" => {
                    for (name, value) in expect_table(origin, "channels", value)? {
                        check_channel_name(&name, &format!("{origin}: channels.{name}"))?;
                        let channel = self
                            .channels
                            .entry(name.clone())
                            .or_insert_with(|| ChannelSettings::new(name.clone()));
                        for (key, value) in
                            expect_table(origin, &format!("channels.{name}"), value)?
                        {
                            let source = format!("{origin}: channels.{name}.{key}");
                            channel.set(key, setting(&source, value)?, source);
                        }
                    }
                }
                "queue" => {
                    for (key, value) in expect_table(origin, "queue", value)? {
                        let source = format!("{origin}: queue.{key}");
                        self.queue.set(key, setting(&source, value)?, source);
                    }
                }
                key if SERVER_KEYS.contains(&key) => {
                    let source = format!("{origin}: {key}");
                    self.server.set(key, setting(&source, value)?, source);
                }
                _ => {
                    return Err(unknown(
                        &format!("{origin}: {key}"),
                        "listen, admin_listen, admin_token, metrics_open, store, \
                         trusted_proxies, tls_cert, tls_key, limits, queue, channels",
                    ));
                }
            }
        }
        Ok(())
    }

    fn env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        let mut names: Vec<String> = self
            .platforms
            .ids()
            .map(str::to_owned)
            .chain(self.channels.keys().cloned())
            .collect();
        // Longest first, so `funtek_eu` wins over `funtek` for BOTWIRE_FUNTEK_EU_TOKEN.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();

        for (var, value) in env {
            let Some(rest) = var.strip_prefix("BOTWIRE_") else {
                continue;
            };
            let text = SettingValue::Text(value);
            if SERVER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(rest)) {
                self.server.set(rest.to_ascii_lowercase(), text, var);
            } else if let Some(key) = rest.strip_prefix(QUEUE_PREFIX) {
                self.queue.set(key.to_ascii_lowercase(), text, var);
            } else if LIMIT_KEYS.iter().any(|k| k.eq_ignore_ascii_case(rest)) {
                self.limits.set(rest.to_ascii_lowercase(), text, var);
            } else if let Some((name, key)) = names.iter().find_map(|name| {
                let prefix = format!("{}_", env_name(name));
                rest.strip_prefix(&prefix).map(|key| (name, key))
            }) {
                self.channels
                    .entry(name.clone())
                    .or_insert_with(|| ChannelSettings::new(name.clone()))
                    .set(key.to_ascii_lowercase(), text, var);
            } else if rest != CONFIG {
                tracing::warn!(variable = %var, "this BOTWIRE_ variable is not used by this version");
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Settings, ConfigError> {
        self.server.expect_only(&SERVER_KEYS)?;
        let tls = match (self.server.text("tls_cert")?, self.server.text("tls_key")?) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(self
                    .server
                    .error("tls_key", "missing: tls_cert needs it")
                    .into());
            }
            (None, Some(_)) => {
                return Err(self
                    .server
                    .error("tls_cert", "missing: tls_key needs it")
                    .into());
            }
        };
        let trusted_proxies = nets(&self.server, "trusted_proxies")?;
        self.limits.expect_only(&LIMIT_KEYS)?;
        self.queue.expect_only(&QUEUE_KEYS)?;

        let listen_text = self.server.text("listen")?.unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse().map_err(|_| {
            self.server
                .error("listen", "expected an address such as 127.0.0.1:8080")
        })?;
        let data_dir = PathBuf::from(self.server.text("data_dir")?.unwrap_or(DEFAULT_DATA_DIR));
        let store = match self
            .server
            .text("store")?
            .map(str::trim)
            .unwrap_or(DEFAULT_STORE)
        {
            "embedded" => StoreKind::Embedded { data_dir },
            "memory" => StoreKind::Memory,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => {
                StoreKind::Redis {
                    url: Secret::new(url),
                    prefix: self
                        .server
                        .text("redis_prefix")?
                        .unwrap_or("botwire")
                        .to_owned(),
                }
            }
            _ => {
                return Err(self
                    .server
                    .error("store", "expected embedded, memory, or a redis:// URL")
                    .into());
            }
        };
        let admin = match self.server.text("admin_listen")?.map(str::trim) {
            Some("off" | "") => None,
            other => Some(other.unwrap_or(DEFAULT_ADMIN_LISTEN).parse().map_err(|_| {
                self.server.error(
                    "admin_listen",
                    "expected an address such as 127.0.0.1:9090, or off",
                )
            })?),
        };
        let admin_tokens = self.server.secrets("admin_token")?;
        let metrics_open = self.server.flag("metrics_open")?.unwrap_or(false);
        let limits = limits(&self.limits)?;
        let mut workers = workers(&self.queue)?;
        // The embedded store keeps waiting jobs on disk, its memory only their ids: its
        // default holds a burst a hundred times deeper than an in-memory queue can.
        if matches!(store, StoreKind::Embedded { .. })
            && !self.queue.keys().any(|k| k == "capacity")
        {
            workers.capacity = botwire_store::EMBEDDED_QUEUE_CAPACITY;
        }

        let mut channels = Vec::with_capacity(self.channels.len());
        for (name, settings) in self.channels {
            let platform = match settings.text("platform")? {
                Some(platform) => platform.to_owned(),
                None if self.platforms.get(&name).is_some() => name.clone(),
                None => {
                    return Err(settings
                        .error("platform", "missing: name the platform of this channel")
                        .into());
                }
            };
            if self.platforms.get(&platform).is_none() {
                let known: Vec<&str> = self.platforms.ids().collect();
                let what = format!("unknown platform; known: {}", known.join(", "));
                return Err(settings.error("platform", &what).into());
            }
            let path = match settings.text("path")? {
                Some(path) if path.starts_with('/') => path.to_owned(),
                Some(_) => return Err(settings.error("path", "must start with /").into()),
                None => format!("/webhooks/{name}"),
            };
            let allow_from = nets(&settings, "allow_from")?;
            channels.push(ChannelSpec {
                name,
                platform,
                path,
                allow_from,
                settings,
            });
        }
        Ok(Settings {
            listen,
            trusted_proxies,
            tls,
            limits,
            admin,
            admin_tokens,
            metrics_open,
            workers,
            store,
            channels,
        })
    }
}

/// A list of addresses or CIDR blocks.
fn nets(settings: &ChannelSettings, key: &str) -> Result<Vec<IpNet>, ConfigError> {
    crate::client_addr::parse_nets(&settings.list(key)?)
        .map_err(|problem| settings.error(key, &problem).into())
}

/// A whole number above zero.
fn count(settings: &ChannelSettings, key: &str) -> Result<Option<u64>, SettingError> {
    match settings.text(key) {
        Ok(None) => Ok(None),
        Ok(Some(text)) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| settings.error(key, "expected a whole number above zero")),
        Err(_) => Err(settings.error(key, "expected a whole number above zero")),
    }
}

/// A whole number above zero that fits `T`.
fn sized<T: TryFrom<u64>>(
    settings: &ChannelSettings,
    key: &str,
) -> Result<Option<T>, SettingError> {
    count(settings, key)?
        .map(|n| T::try_from(n).map_err(|_| settings.error(key, "too large")))
        .transpose()
}

fn workers(settings: &ChannelSettings) -> Result<Workers, ConfigError> {
    let mut workers = Workers::default();
    if let Some(n) = sized(settings, "workers")? {
        workers.workers = n;
    }
    if let Some(n) = sized(settings, "capacity")? {
        workers.capacity = n;
    }
    if let Some(n) = sized(settings, "dead_letters")? {
        workers.dead_letters = n;
    }
    if let Some(n) = sized(settings, "max_attempts")? {
        workers.max_attempts = n;
    }
    if let Some(d) = settings.positive_duration("retry_base")? {
        workers.retry_base = d;
    }
    if let Some(d) = settings.positive_duration("retry_max")? {
        workers.retry_max = d;
    }
    if workers.retry_max < workers.retry_base {
        return Err(settings
            .error("retry_max", "must not be shorter than retry_base")
            .into());
    }
    if let Some(d) = settings.positive_duration("handler_timeout")? {
        workers.handler_timeout = d;
    }
    if let Some(d) = settings.positive_duration("timer_poll")? {
        workers.timer_poll = d;
    }
    Ok(workers)
}

fn limits(settings: &ChannelSettings) -> Result<Limits, ConfigError> {
    let mut limits = Limits::default();
    let count = |key: &str| count(settings, key);
    let duration = |key: &str| settings.positive_duration(key);
    if let Some(n) = count("body_bytes")? {
        limits.body_bytes =
            usize::try_from(n).map_err(|_| settings.error("body_bytes", "too large"))?;
    }
    if let Some(n) = count("header_bytes")? {
        let n = usize::try_from(n).map_err(|_| settings.error("header_bytes", "too large"))?;
        if n < crate::limits::MIN_HEADER_BYTES {
            return Err(settings
                .error("header_bytes", "must be at least 8192")
                .into());
        }
        limits.header_bytes = n;
    }
    if let Some(n) = count("max_headers")? {
        limits.max_headers =
            usize::try_from(n).map_err(|_| settings.error("max_headers", "too large"))?;
    }
    if let Some(d) = duration("idle_timeout")? {
        limits.idle_timeout = d;
    }
    if let Some(n) = count("max_connections")? {
        limits.max_connections =
            usize::try_from(n).map_err(|_| settings.error("max_connections", "too large"))?;
    }
    if let Some(n) = count("max_streams")? {
        limits.max_streams =
            u32::try_from(n).map_err(|_| settings.error("max_streams", "too large"))?;
    }
    if let Some(d) = duration("header_timeout")? {
        limits.header_timeout = d;
    }
    if let Some(d) = duration("body_timeout")? {
        limits.body_timeout = d;
    }
    if let Some(d) = duration("shutdown_grace")? {
        limits.shutdown_grace = d;
    }
    Ok(limits)
}

/// A TOML value as a setting: scalars keep their type, numbers as integers, arrays of strings
/// as lists.
fn setting(source: &str, value: toml::Value) -> Result<SettingValue, SettingError> {
    match value {
        toml::Value::String(s) => Ok(SettingValue::Text(s)),
        toml::Value::Boolean(b) => Ok(SettingValue::Bool(b)),
        // Limits are whole numbers; read them as text so one parser serves file and environment.
        toml::Value::Integer(i) => Ok(SettingValue::Text(i.to_string())),
        toml::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s),
                // Lists of numbers (WeChatPadPro's message types) read as their text.
                toml::Value::Integer(i) => Ok(i.to_string()),
                _ => Err(problem(source, "expected a list of strings or numbers")),
            })
            .collect::<Result<_, _>>()
            .map(SettingValue::List),
        _ => Err(problem(
            source,
            "expected a string, a boolean, a number or a list of strings",
        )),
    }
}

fn expect_table(origin: &str, key: &str, value: toml::Value) -> Result<toml::Table, SettingError> {
    match value {
        toml::Value::Table(table) => Ok(table),
        _ => Err(problem(&format!("{origin}: {key}"), "expected a table")),
    }
}

fn check_channel_name(name: &str, source: &str) -> Result<(), SettingError> {
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if !valid {
        return Err(problem(
            source,
            "a channel name is lower-case letters, digits, '-' and '_', starting with a letter",
        ));
    }
    if RESERVED.contains(&name) {
        return Err(problem(
            source,
            "this name is reserved for server-wide settings",
        ));
    }
    Ok(())
}

/// The upper-case form a channel name takes in variable names (`funtek-eu` → `FUNTEK_EU`).
fn env_name(channel: &str) -> String {
    channel.to_ascii_uppercase().replace('-', "_")
}

fn unknown(source: &str, known: &str) -> ConfigError {
    problem(source, &format!("unknown setting; known here: {known}")).into()
}

fn problem(source: &str, what: &str) -> SettingError {
    SettingError {
        origin: source.to_owned(),
        problem: what.to_owned(),
    }
}

#[cfg(test)]
mod tests;
