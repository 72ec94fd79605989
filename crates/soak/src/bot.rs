//! The bot under soak: the sample echo bot, wrapped so that messages marked `fail:` or
//! `panic:` fail or panic on their first run (a seeded schedule chooses which), and so that
//! every successful run and every reply sent is counted by message text.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use async_trait::async_trait;
use botwire::{Bot, BoxError, Context, Event, Handler, Outbox, OutboxError, Outgoing, Reply};

/// Marks a message whose first run fails.
pub(crate) const FAIL: &str = "fail:";
/// Marks a message whose first run panics.
pub(crate) const PANIC: &str = "panic:";

const SCHEDULED_PANIC: &str = "a scheduled panic";

/// Keeps the scheduled panics out of the output (the server catches and counts them); any
/// other panic is reported as usual.
pub(crate) fn quiet_scheduled_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied());
        if message != Some(SCHEDULED_PANIC) {
            report(info);
        }
    }));
}

/// Counts per delivery, indexed by the sequence number at the end of its text (`soak 17`).
/// Allocated whole up front, so that counting adds nothing to the memory being watched.
#[derive(Debug, Clone)]
pub(crate) struct Tally(Arc<[AtomicU8]>);

impl Tally {
    /// Room for deliveries numbered below `capacity`.
    pub(crate) fn new(capacity: usize) -> Self {
        Self((0..capacity).map(|_| AtomicU8::new(0)).collect())
    }

    /// Counts one more for the delivery with this text; returns the count so far (0 for a text
    /// with no number in range).
    pub(crate) fn add(&self, text: &str) -> u8 {
        self.slot(text).map_or(0, |slot| {
            slot.fetch_add(1, Ordering::SeqCst).saturating_add(1)
        })
    }

    /// The count of delivery `n`.
    pub(crate) fn get(&self, n: u64) -> u8 {
        usize::try_from(n)
            .ok()
            .and_then(|i| self.0.get(i))
            .map_or(0, |slot| slot.load(Ordering::SeqCst))
    }

    fn slot(&self, text: &str) -> Option<&AtomicU8> {
        let n: usize = text.rsplit(' ').next()?.parse().ok()?;
        self.0.get(n)
    }
}

/// Runs the sample bot's handler for the current state, after injecting the scheduled fault.
struct Chaos {
    inner: Bot,
    /// Runs per message text, failed ones included.
    runs: Tally,
    /// Successful runs per message text.
    handled: Tally,
}

#[async_trait]
impl Handler for Chaos {
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        let text = event.text().unwrap_or_default();
        let first_run = self.runs.add(text) == 1;
        if first_run && text.starts_with(FAIL) {
            return Err("a scheduled failure".into());
        }
        if first_run && text.starts_with(PANIC) {
            panic!("{SCHEDULED_PANIC}");
        }
        let dispatched = self.inner.dispatch(cx, event).await?;
        self.handled.add(text);
        Ok(dispatched.reply)
    }
}

/// The sample bot with faults injected; `handled` counts its successful runs, and both tallies
/// have room for `capacity` deliveries.
pub(crate) fn bot(handled: Tally, capacity: usize) -> Bot {
    let chaos = Arc::new(Chaos {
        inner: match echo_bot::bot() {
            Ok(bot) => bot,
            Err(error) => unreachable!("the sample bot's states are fixed: {error}"),
        },
        runs: Tally::new(capacity),
        handled,
    });
    match Bot::builder()
        .initial(echo_bot::IDLE)
        .state(echo_bot::IDLE, chaos.clone())
        .state(echo_bot::TEACHING, chaos)
        .build()
    {
        Ok(bot) => bot,
        Err(error) => unreachable!("both states have a handler: {error}"),
    }
}

/// The via-API channels' outbox: counts each reply sent, by text.
#[derive(Debug, Clone)]
pub(crate) struct CountingOutbox(pub(crate) Tally);

#[async_trait]
impl Outbox for CountingOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        self.0.add(outgoing.text().unwrap_or_default());
        Ok(())
    }
}
