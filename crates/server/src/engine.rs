//! The engine: everything a receiver runs besides answering requests — the queue's workers, the
//! ledger's purge loop — and the ordered shutdown that lets late handlers and queued work finish.
//!
//! [`Server::bind`](crate::Server::bind) starts one behind its listeners; an embedder gets it
//! from [`Server::build`](crate::Server::build) and shuts it down after its own HTTP server.

use std::sync::Arc;
use std::time::Duration;

use botwire_store::Ledger;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{App, state_timers, worker};

/// How often expired ledger entries are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// The background work of one [`App`]: started when it is built, stopped by
/// [`shutdown`](Engine::shutdown). Dropping it without a shutdown stops nothing: the tasks run
/// until the runtime ends.
#[must_use = "an engine left unshut abandons queued work at exit: call Engine::shutdown"]
pub struct Engine {
    app: App,
    background: CancellationToken,
    workers: JoinSet<()>,
    purge: JoinHandle<()>,
    /// The loop that queues state timeouts, when a bot has them.
    timers: Option<JoinHandle<()>>,
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

impl Engine {
    /// Starts `app`'s workers (when a channel needs them) and its purge loop.
    pub(crate) fn start(app: &App) -> Self {
        let background = CancellationToken::new();
        let purge = tokio::spawn(purge_loop(app.ledger().clone(), background.clone()));
        let mut workers = JoinSet::new();
        if app.needs_workers() {
            for _ in 0..app.workers().workers {
                workers.spawn(worker::run(app.clone(), background.clone()));
            }
        }
        let timers = app
            .needs_timers()
            .then(|| tokio::spawn(state_timers::run(app.clone(), background.clone())));
        Self {
            app: app.clone(),
            background,
            workers,
            purge,
            timers,
        }
    }

    /// Stops in order, once the requests are no longer coming (stop your HTTP server first):
    /// waits for late handlers, lets the workers drain the queue (each up to the limits'
    /// shutdown grace period), stops the workers after the attempt each is on, and returns what
    /// is left undone, one log line each.
    pub async fn shutdown(mut self) -> Stopped {
        let grace = self.app.limits().shutdown_grace;
        let tasks = self.app.tasks();
        tasks.close();
        if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
            tracing::warn!(
                still_running = tasks.len(),
                "late handlers still running after the grace period were abandoned"
            );
        }
        if !self.workers.is_empty() {
            drain(&self.app, grace).await;
        }
        self.background.cancel();
        // A worker finishes the attempt it is on (bounded by the handler timeout).
        while self.workers.join_next().await.is_some() {}
        if let Err(error) = (&mut self.purge).await {
            tracing::error!(%error, "the purge loop ended abnormally");
        }
        if let Some(timers) = self.timers.take()
            && let Err(error) = timers.await
        {
            tracing::error!(%error, "the state timers' loop ended abnormally");
        }
        unfinished(&self.app).await
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

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
