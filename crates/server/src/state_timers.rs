//! The loop that runs state timeouts: it asks the store for the timers that fell due, claims
//! each (one instance gets it), and queues a timeout job in the conversation's lane, where a
//! worker runs it like a delivery. (Each event sets its conversation's timer: `timer_reset`.)

use std::time::{Duration, SystemTime};

use botwire_store::{NewJob, StoreError};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::timeout_job::TimeoutJob;

/// How long a claimed timer is left to the job queued for it before another instance may
/// queue it again (after a crash between the claim and the push; a second job is a no-op).
const CLAIM_FOR: Duration = Duration::from_secs(60);
/// The most timers queued per look.
const BATCH: usize = 256;

/// Queues the timeouts that fell due, every `Workers::timer_poll`, until `stop`.
pub(crate) async fn run(app: App, stop: CancellationToken) {
    let mut every = tokio::time::interval(app.workers().timer_poll);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stop.cancelled() => return,
        }
        match queue_due(&app).await {
            Ok(0) => {}
            Ok(queued) => tracing::debug!(queued, "state timeouts fell due"),
            Err(error) => tracing::warn!(%error, "could not look for state timeouts"),
        }
    }
}

/// Claims and queues what fell due; how many were queued.
async fn queue_due(app: &App) -> Result<usize, StoreError> {
    let now = SystemTime::now();
    let timers = app.timers();
    let mut queued = 0;
    for due in timers.due(now, BATCH).await? {
        let key = due.key();
        let generation = due.timer.generation;
        if !timers.claim(&key, generation, now, now + CLAIM_FOR).await? {
            continue;
        }
        if app.route_by_channel(&due.channel).is_none() {
            tracing::warn!(channel = %due.channel, "a state timeout of a channel no longer mounted is dropped");
            timers.remove(&key, Some(generation)).await?;
            continue;
        }
        let job = TimeoutJob {
            state: due.timer.state.clone(),
            generation,
        };
        let new = NewJob::new(
            &due.channel,
            &due.conversation,
            job.delivery_id(),
            job.encode(),
        );
        // The server's own work, which nobody sends again: kept past the queue's capacity.
        app.queue().push_kept(new).await?;
        queued += 1;
    }
    Ok(queued)
}
