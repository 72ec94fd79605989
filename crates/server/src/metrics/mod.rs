//! Prometheus metrics of one [`App`](crate::App), read at `GET /metrics` on the admin listener.
//!
//! Each `App` has its own registry (no process-wide recorder), so that two servers in one
//! process — an embedder's, a test's — count only their own deliveries. The hot path touches
//! handles resolved once per channel ([`ChannelMetrics`]): an increment is an atomic add, not
//! a lookup by label.

mod buckets;
mod channel;
mod labels;
mod operation;
mod outbox;
mod stores;

pub(crate) use channel::ChannelMetrics;
pub(crate) use outbox::MeteredOutbox;
pub(crate) use stores::meter;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use botwire_store::QueueStats;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

#[cfg(test)]
use crate::delivery_log::Outcome;
use crate::delivery_log::Record;
use buckets::Buckets;
use labels::{
    Build, ByChannel, ByFailure, ByJobStatus, ByOperation, ByOutcome, ByReason, ByState,
    ByTransition, Name,
};
use operation::Operation;

/// What `/metrics` answers with: the OpenMetrics text format, which Prometheus scrapes.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The families every channel's handles come from.
#[derive(Clone)]
pub(crate) struct Families {
    deliveries: Family<ByOutcome, Counter>,
    refusals: Family<ByReason, Counter>,
    duplicates: Family<ByChannel, Counter>,
    late: Family<ByChannel, Counter>,
    answers: Family<ByChannel, Histogram, Buckets>,
    handlers: Family<ByState, Histogram, Buckets>,
    transitions: Family<ByTransition, Counter>,
    retries: Family<ByChannel, Counter>,
    dead_letters: Family<ByChannel, Counter>,
    outbox_sends: Family<ByChannel, Counter>,
    outbox_failures: Family<ByFailure, Counter>,
    outbox_waits: Family<ByChannel, Counter>,
    store_calls: Family<ByOperation, Counter>,
    store_latency: Family<ByOperation, Histogram, Buckets>,
}

/// One store call in this many is timed (the first of each operation always is). Reading the
/// clock twice and taking the histogram's lock on every call cost more than the rest of the
/// metrics together on the hot path (docs/performance.md); a sample shows the same
/// distribution. The calls themselves are all counted.
pub(crate) const SAMPLE_EVERY: u64 = 8;

/// One operation's handles.
struct StoreCall {
    calls: Counter,
    latency: Histogram,
}

/// A mounted channel, as its metrics need it.
pub(crate) struct Mounted<'a> {
    pub(crate) name: &'a Arc<str>,
    /// The platform's deadline: a bound of the answer histogram.
    pub(crate) deadline: Duration,
    /// The bot's states: the only values its `state` labels take, so that a state name a
    /// payload carries cannot grow the series without bound.
    pub(crate) states: Vec<Arc<str>>,
}

/// The queue as of the last scrape: read from the store when `/metrics` is asked.
#[derive(Default)]
struct QueueGauges {
    jobs: Family<ByJobStatus, Gauge>,
    capacity: Gauge,
    dead: Gauge,
    oldest_age: Gauge<f64, AtomicU64>,
}

/// One App's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    families: Families,
    /// Few (a bot mounts a handful of channels): a scan of short names costs less than
    /// hashing one.
    channels: Vec<(Arc<str>, ChannelMetrics)>,
    /// By [`Operation::index`].
    store_calls: Vec<StoreCall>,
    queue: QueueGauges,
}

impl Metrics {
    /// Metrics for these channels.
    pub(crate) fn new<'a>(channels: impl IntoIterator<Item = Mounted<'a>>) -> Self {
        let channels: Vec<Mounted<'a>> = channels.into_iter().collect();
        let answer_buckets = Buckets::around_deadlines(channels.iter().map(|c| c.deadline));
        let families = Families {
            deliveries: Family::default(),
            refusals: Family::default(),
            duplicates: Family::default(),
            late: Family::default(),
            answers: Family::new_with_constructor(answer_buckets),
            handlers: Family::new_with_constructor(Buckets::latency()),
            transitions: Family::default(),
            retries: Family::default(),
            dead_letters: Family::default(),
            outbox_sends: Family::default(),
            outbox_failures: Family::default(),
            outbox_waits: Family::default(),
            store_calls: Family::default(),
            store_latency: Family::new_with_constructor(Buckets::new(buckets::STORE)),
        };
        let queue = QueueGauges::default();
        let registry = register(&families, &queue);
        let store_calls = Operation::ALL
            .iter()
            .map(|operation| {
                let labels = ByOperation {
                    operation: operation.name(),
                };
                StoreCall {
                    calls: families.store_calls.get_or_create_owned(&labels),
                    latency: families.store_latency.get_or_create_owned(&labels),
                }
            })
            .collect();
        let channels = channels
            .into_iter()
            .map(|channel| {
                let name = channel.name.clone();
                let handles =
                    ChannelMetrics::new(Name(name.clone()), channel.states, families.clone());
                (name, handles)
            })
            .collect();
        Self {
            registry,
            families,
            channels,
            store_calls,
            queue,
        }
    }

    /// The handles of one channel.
    pub(crate) fn channel(&self, name: &str) -> ChannelMetrics {
        self.find(name).cloned().unwrap_or_else(|| {
            ChannelMetrics::new(Name::from(name), Vec::new(), self.families.clone())
        })
    }

    fn find(&self, name: &str) -> Option<&ChannelMetrics> {
        self.channels
            .iter()
            .find(|(mounted, _)| **mounted == *name)
            .map(|(_, channel)| channel)
    }

    /// Counts what a delivery-log record says happened.
    pub(crate) fn observe(&self, record: &Record) {
        if let Some(channel) = self.find(&record.channel) {
            channel.observe(record);
        }
    }

    /// Counts a store call of `operation`; says when it started if this one is to be timed.
    pub(crate) fn store_call(&self, operation: Operation) -> Option<tokio::time::Instant> {
        let call = self.store_calls.get(operation.index())?;
        // The count before this call: 0, SAMPLE_EVERY, 2 × SAMPLE_EVERY, … are timed.
        let before = call.calls.inc();
        (before % SAMPLE_EVERY == 0).then(tokio::time::Instant::now)
    }

    /// How long a timed store call of `operation` took.
    pub(crate) fn store_call_took(&self, operation: Operation, took: Duration) {
        if let Some(call) = self.store_calls.get(operation.index()) {
            call.latency.observe(took.as_secs_f64());
        }
    }

    /// The text exposition, with the queue's gauges as `stats` says (none: the store did not
    /// answer, and the gauges keep their last values).
    pub(crate) fn render(&self, stats: Option<QueueStats>, oldest: Option<SystemTime>) -> String {
        if let Some(stats) = stats {
            let jobs = &self.queue.jobs;
            jobs.get_or_create(&ByJobStatus { status: "queued" })
                .set(gauge_value(stats.queued));
            jobs.get_or_create(&ByJobStatus {
                status: "in_progress",
            })
            .set(gauge_value(stats.in_progress));
            self.queue.capacity.set(gauge_value(stats.capacity));
            self.queue.dead.set(gauge_value(stats.dead));
            let age = oldest
                .and_then(|at| SystemTime::now().duration_since(at).ok())
                .unwrap_or_default();
            self.queue.oldest_age.set(age.as_secs_f64());
        }
        let mut text = String::with_capacity(8 * 1024);
        // Writing to a String does not fail, and every family's labels encode.
        if encode(&mut text, &self.registry).is_err() {
            tracing::error!("the metrics could not be encoded");
        }
        text
    }
}

fn gauge_value(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn register(f: &Families, queue: &QueueGauges) -> Registry {
    let mut registry = Registry::with_prefix("botwire");
    let r = &mut registry;
    r.register(
        "build",
        "The botwire version serving",
        Info::new(Build {
            version: env!("CARGO_PKG_VERSION"),
        }),
    );
    r.register(
        "deliveries",
        "Deliveries (and worker attempts) by what became of them, as the delivery log names it",
        f.deliveries.clone(),
    );
    r.register(
        "refusals",
        "Requests refused before a handler ran, by the rejection's code",
        f.refusals.clone(),
    );
    r.register(
        "duplicates",
        "Repeated deliveries answered as their original was",
        f.duplicates.clone(),
    );
    r.register(
        "late_answers",
        "In-response deliveries answered with the no-op because the handler ran past the deadline",
        f.late.clone(),
    );
    r.register_with_unit(
        "answer",
        "From a webhook's arrival to its HTTP answer; bounds include each platform's deadline",
        Unit::Seconds,
        f.answers.clone(),
    );
    r.register_with_unit(
        "handler",
        "How long the bot's handler ran, by the state it ran in",
        Unit::Seconds,
        f.handlers.clone(),
    );
    r.register(
        "state_transitions",
        "State changes handlers asked for, from one state to another",
        f.transitions.clone(),
    );
    r.register(
        "queue_jobs",
        "Jobs accepted and unfinished (queued) and those a worker holds (in_progress)",
        queue.jobs.clone(),
    );
    r.register(
        "queue_capacity",
        "The most jobs the queue accepts",
        queue.capacity.clone(),
    );
    r.register_with_unit(
        "queue_oldest_job_age",
        "How long the oldest unfinished job has waited since it was accepted",
        Unit::Seconds,
        queue.oldest_age.clone(),
    );
    r.register(
        "queue_retries",
        "Worker attempts that failed and will be retried",
        f.retries.clone(),
    );
    r.register(
        "dead_letters_kept",
        "Dead letters waiting for a replay",
        queue.dead.clone(),
    );
    r.register(
        "dead_letters",
        "Deliveries given up on and kept as dead letters",
        f.dead_letters.clone(),
    );
    r.register(
        "outbox_sends",
        "Replies and messages the outbox delivered",
        f.outbox_sends.clone(),
    );
    r.register(
        "outbox_failures",
        "Outbox sends that failed: transient (retried) or permanent",
        f.outbox_failures.clone(),
    );
    r.register(
        "outbox_rate_limit_waits",
        "Sends that waited for a rate limit (the channel's own, or the platform's answer)",
        f.outbox_waits.clone(),
    );
    r.register(
        "store_calls",
        "Store calls, by operation",
        f.store_calls.clone(),
    );
    r.register_with_unit(
        "store_call",
        "How long a store call took, by operation: one call in 8 is timed",
        Unit::Seconds,
        f.store_latency.clone(),
    );
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mounted(name: &Arc<str>, deadline: Duration) -> Mounted<'_> {
        Mounted {
            name,
            deadline,
            states: vec!["idle".into(), "teaching".into()],
        }
    }

    #[test]
    fn renders_every_family_with_zeroes_for_each_channel() {
        let name: Arc<str> = "kamigo".into();
        let metrics = Metrics::new([mounted(&name, Duration::from_secs(30))]);
        let text = metrics.render(Some(QueueStats::default()), None);
        assert!(text.contains(r#"botwire_deliveries_total{channel="kamigo",outcome="replied"} 0"#));
        assert!(text.contains(r#"botwire_build_info{version=""#));
        assert!(text.contains(r#"botwire_answer_seconds_bucket{le="29.5",channel="kamigo"} 0"#));
        assert!(text.contains(r#"botwire_queue_capacity 0"#));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn records_count_by_outcome_reason_and_transition() {
        let name: Arc<str> = "room".into();
        let metrics = Metrics::new([mounted(&name, Duration::from_secs(5))]);
        let replied = Record::new("room", "funtek", Outcome::Replied, Duration::ZERO)
            .states("idle", Some("teaching"));
        metrics.observe(&replied);
        metrics.observe(&Record::new(
            "room",
            "funtek",
            Outcome::Duplicate,
            Duration::ZERO,
        ));
        metrics.observe(
            &Record::new("room", "funtek", Outcome::Rejected, Duration::ZERO)
                .refused("invalid_signature", "no"),
        );
        metrics.observe(&Record::new(
            "elsewhere",
            "funtek",
            Outcome::Replied,
            Duration::ZERO,
        ));
        let text = metrics.render(None, None);
        for line in [
            r#"botwire_deliveries_total{channel="room",outcome="replied"} 1"#,
            r#"botwire_deliveries_total{channel="room",outcome="duplicate"} 1"#,
            r#"botwire_duplicates_total{channel="room"} 1"#,
            r#"botwire_refusals_total{channel="room",reason="invalid_signature"} 1"#,
            r#"botwire_state_transitions_total{channel="room",from="idle",to="teaching"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(
            !text.contains("elsewhere"),
            "a channel not mounted is not counted"
        );
    }
}
