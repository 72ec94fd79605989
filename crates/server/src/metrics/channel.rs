//! One channel's metric handles, resolved when the server is built: what the hot path counts
//! with. Every outcome's counter exists from the start, so a scrape shows zeroes rather than
//! series that appear with the first failure.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::Families;
use super::labels::{ByChannel, ByFailure, ByOutcome, ByReason, ByState, ByTransition, Name};
use crate::delivery_log::{OUTCOMES, Outcome, Record};

/// A channel's handles. Cheap to clone: each is a pointer to its counter.
#[derive(Clone)]
pub(crate) struct ChannelMetrics {
    channel: Name,
    deliveries: [Counter; OUTCOMES.len()],
    duplicates: Counter,
    late: Counter,
    retries: Counter,
    dead_letters: Counter,
    answers: Histogram,
    outbox_sends: Counter,
    outbox_waits: Counter,
    families: Families,
}

impl std::fmt::Debug for ChannelMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelMetrics")
            .field("channel", &self.channel.0)
            .finish_non_exhaustive()
    }
}

impl ChannelMetrics {
    pub(super) fn new(channel: Name, families: Families) -> Self {
        let by_channel = ByChannel {
            channel: channel.clone(),
        };
        let counter = |family: &prometheus_client::metrics::family::Family<ByChannel, Counter>| {
            family.get_or_create_owned(&by_channel)
        };
        let deliveries = OUTCOMES.map(|outcome| {
            families.deliveries.get_or_create_owned(&ByOutcome {
                channel: channel.clone(),
                outcome: outcome.as_str(),
            })
        });
        Self {
            deliveries,
            duplicates: counter(&families.duplicates),
            late: counter(&families.late),
            retries: counter(&families.retries),
            dead_letters: counter(&families.dead_letters),
            answers: families.answers.get_or_create_owned(&by_channel),
            outbox_sends: counter(&families.outbox_sends),
            outbox_waits: counter(&families.outbox_waits),
            channel,
            families,
        }
    }

    /// Counts what a delivery-log record of this channel says happened.
    pub(crate) fn observe(&self, record: &Record) {
        let outcome = record.outcome;
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.deliveries[i].inc();
        }
        match outcome {
            Outcome::Rejected => {
                let reason = record.reason.unwrap_or("unknown");
                self.families
                    .refusals
                    .get_or_create(&ByReason {
                        channel: self.channel.clone(),
                        reason,
                    })
                    .inc();
            }
            Outcome::Duplicate => {
                self.duplicates.inc();
            }
            Outcome::Late => {
                self.late.inc();
            }
            Outcome::Retrying => {
                self.retries.inc();
            }
            Outcome::DeadLetter => {
                self.dead_letters.inc();
            }
            _ => {}
        }
        if let (Some(from), Some(to)) = (&record.state_before, &record.state_after) {
            self.families
                .transitions
                .get_or_create(&ByTransition {
                    channel: self.channel.clone(),
                    from: Name::from(from.as_str()),
                    to: Name::from(to.as_str()),
                })
                .inc();
        }
    }

    /// A webhook of this channel was answered `took` after it arrived.
    pub(crate) fn answered(&self, took: Duration) {
        self.answers.observe(took.as_secs_f64());
    }

    /// The handler ran `took` in `state`.
    pub(crate) fn handled(&self, state: &std::sync::Arc<str>, took: Duration) {
        self.families
            .handlers
            .get_or_create(&ByState {
                channel: self.channel.clone(),
                state: Name(state.clone()),
            })
            .observe(took.as_secs_f64());
    }

    /// The outbox delivered one message.
    pub(crate) fn sent(&self) {
        self.outbox_sends.inc();
    }

    /// A send failed: `transient` ones are retried.
    pub(crate) fn send_failed(&self, transient: bool) {
        let kind = if transient { "transient" } else { "permanent" };
        self.families
            .outbox_failures
            .get_or_create(&ByFailure {
                channel: self.channel.clone(),
                kind,
            })
            .inc();
    }

    /// A send waited for a rate limit.
    pub(crate) fn rate_limit_wait(&self) {
        self.outbox_waits.inc();
    }
}
