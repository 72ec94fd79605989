//! Which stores a server keeps its memory in: the ones the user gave, the one the settings name
//! (opened or connected only when the server is built), and memory for the rest.

#[cfg(feature = "embedded")]
use std::path::PathBuf;
use std::sync::Arc;

use botwire_core::{ConversationData, MemoryData};
#[cfg(feature = "redis")]
use botwire_platforms::auth::Secret;
#[cfg(feature = "embedded")]
use botwire_store::{EmbeddedOptions, EmbeddedStore};
use botwire_store::{
    Intake, Ledger, MemoryLedger, MemoryQueue, MemoryStateStore, MemoryTimers, Queue, StateStore,
    Timers,
};
#[cfg(feature = "redis")]
use botwire_store_redis::{RedisOptions, RedisStore};

use crate::config::{ConfigError, StoreKind};
use crate::{ServeError, Workers};

/// The stores an [`App`](crate::App) keeps its memory in.
#[derive(Clone)]
pub(crate) struct Stores {
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) states: Arc<dyn StateStore>,
    pub(crate) queue: Arc<dyn Queue>,
    /// What bots remember per conversation (`Context::recall`/`remember`).
    pub(crate) data: Arc<dyn ConversationData>,
    /// When conversations fall due to leave a state with a timeout.
    pub(crate) timers: Arc<dyn Timers>,
    /// The ledger and the queue as one store, when they are: it writes a job and its
    /// acknowledgement together.
    pub(crate) intake: Option<Arc<dyn Intake>>,
}

/// The stores chosen so far: each slot the user filled, and the store the settings name for
/// the others. Nothing is opened until [`StorePlan::open`].
#[derive(Default)]
pub(crate) struct StorePlan {
    pub(crate) ledger: Option<Arc<dyn Ledger>>,
    pub(crate) states: Option<Arc<dyn StateStore>>,
    pub(crate) queue: Option<Arc<dyn Queue>>,
    pub(crate) data: Option<Arc<dyn ConversationData>>,
    pub(crate) timers: Option<Arc<dyn Timers>>,
    /// Set with `Server::store`: the ledger and the queue are this one store.
    pub(crate) intake: Option<Arc<dyn Intake>>,
    /// The store of the settings, for every slot still empty.
    pub(crate) configured: Configured,
}

/// The store the settings name.
#[derive(Default)]
pub(crate) enum Configured {
    /// None: memory for every empty slot.
    #[default]
    Memory,
    #[cfg(feature = "embedded")]
    Embedded {
        path: PathBuf,
        options: EmbeddedOptions,
    },
    #[cfg(feature = "redis")]
    Redis {
        url: Secret,
        prefix: String,
        options: RedisOptions,
    },
}

impl Configured {
    /// What `kind` names, sized by `workers`.
    ///
    /// # Errors
    /// [`ConfigError::LeftOut`] when `kind` is a backend this build does not have.
    #[cfg_attr(
        not(any(feature = "embedded", feature = "redis")),
        allow(unused_variables)
    )]
    pub(crate) fn from_settings(kind: &StoreKind, workers: &Workers) -> Result<Self, ConfigError> {
        Ok(match kind {
            StoreKind::Memory => Self::Memory,
            #[cfg(feature = "embedded")]
            StoreKind::Embedded { data_dir } => Self::Embedded {
                path: StoreKind::file(data_dir),
                options: EmbeddedOptions::default()
                    .with_queue_capacity(workers.capacity)
                    .with_dead_letters(workers.dead_letters),
            },
            #[cfg(feature = "redis")]
            StoreKind::Redis { url, prefix } => Self::Redis {
                url: url.clone(),
                prefix: prefix.clone(),
                options: RedisOptions::default()
                    .with_queue_capacity(workers.capacity)
                    .with_dead_letters(workers.dead_letters),
            },
            #[cfg(not(feature = "embedded"))]
            StoreKind::Embedded { .. } => return Err(left_out("embedded")),
            #[cfg(not(feature = "redis"))]
            StoreKind::Redis { .. } => return Err(left_out("redis")),
        })
    }
}

impl StorePlan {
    /// Every slot is `store`'s, which writes a job and its acknowledgement together.
    pub(crate) fn all<S>(&mut self, store: S)
    where
        S: Ledger + StateStore + Queue + ConversationData + Timers + Intake + Clone,
    {
        self.ledger = Some(Arc::new(store.clone()));
        self.states = Some(Arc::new(store.clone()));
        self.queue = Some(Arc::new(store.clone()));
        self.data = Some(Arc::new(store.clone()));
        self.timers = Some(Arc::new(store.clone()));
        self.intake = Some(Arc::new(store));
    }

    /// Whether building needs to open or connect to a store.
    pub(crate) fn needs_opening(&self) -> bool {
        !matches!(self.configured, Configured::Memory) && !self.is_full()
    }

    fn is_full(&self) -> bool {
        self.ledger.is_some()
            && self.states.is_some()
            && self.queue.is_some()
            && self.data.is_some()
            && self.timers.is_some()
    }

    /// Opens or connects to the configured store when a slot is left for it, and fills the
    /// rest with memory.
    pub(crate) async fn open(mut self, workers: &Workers) -> Result<Stores, ServeError> {
        if !self.is_full() {
            match std::mem::take(&mut self.configured) {
                Configured::Memory => {}
                #[cfg(feature = "embedded")]
                Configured::Embedded { path, options } => {
                    let opened = path.clone();
                    // Opening reads the lane index back from the file: seconds for a million
                    // queued jobs, so not on a runtime thread.
                    let store = tokio::task::spawn_blocking(move || {
                        EmbeddedStore::open_with(&opened, options)
                    })
                    .await
                    .unwrap_or_else(|panicked| {
                        Err(botwire_store::StoreError::Unavailable {
                            backend: "embedded",
                            source: Box::new(panicked),
                        })
                    })
                    .map_err(|source| {
                        ServeError::Config(ConfigError::Store {
                            path: path.clone(),
                            source,
                        })
                    })?;
                    tracing::info!(path = %path.display(), "the store keeps everything in this file");
                    if self.fill(store.clone()) {
                        self.intake = Some(Arc::new(store));
                    }
                }
                #[cfg(feature = "redis")]
                Configured::Redis {
                    url,
                    prefix,
                    options,
                } => {
                    let store = RedisStore::connect_with(url.expose(), &prefix, options)
                        .await
                        .map_err(ServeError::Store)?;
                    tracing::info!(%prefix, "the store is on Redis");
                    // Its ledger and queue keys sit in different hash slots: no intake.
                    self.fill(store);
                }
            }
        }
        Ok(self.in_memory_for_the_rest(workers))
    }

    /// The empty slots are `store`'s. Whether it got both the ledger and the queue, so that it
    /// can also write a job and its acknowledgement together.
    #[cfg(any(feature = "embedded", feature = "redis"))]
    fn fill<S>(&mut self, store: S) -> bool
    where
        S: Ledger + StateStore + Queue + ConversationData + Timers + Clone,
    {
        let both = self.ledger.is_none() && self.queue.is_none();
        self.ledger.get_or_insert_with(|| Arc::new(store.clone()));
        self.states.get_or_insert_with(|| Arc::new(store.clone()));
        self.queue.get_or_insert_with(|| Arc::new(store.clone()));
        self.data.get_or_insert_with(|| Arc::new(store.clone()));
        self.timers.get_or_insert_with(|| Arc::new(store));
        both
    }

    /// Memory for every slot still empty; nothing is opened.
    pub(crate) fn in_memory_for_the_rest(self, workers: &Workers) -> Stores {
        Stores {
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
            timers: self
                .timers
                .unwrap_or_else(|| Arc::new(MemoryTimers::default())),
            intake: self.intake,
        }
    }
}

/// The store setting names a backend this build leaves out.
#[cfg(not(all(feature = "embedded", feature = "redis")))]
fn left_out(feature: &'static str) -> ConfigError {
    ConfigError::LeftOut {
        setting: "store",
        feature,
    }
}
