//! One channel's metric handles, resolved when the server is built: what the hot path counts
//! with. Every outcome's counter exists from the start, so a scrape shows zeroes rather than
//! series that appear with the first failure.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::Families;
use super::labels::{ByChannel, ByFailure, ByOutcome, ByReason, ByState, ByTransition, Name};
use crate::delivery_log::{OUTCOMES, Outcome, Record};

/// The label of a state the bot does not have (a payload may carry any name).
const UNKNOWN_STATE: &str = "(unknown)";

/// A channel's handles. Cheap to clone: each is a pointer to its counter.
#[derive(Clone)]
pub(crate) struct ChannelMetrics {
    channel: Name,
    /// The handler histogram of each of the bot's states, and of the rest.
    handlers: Arc<[(Arc<str>, Histogram)]>,
    unknown_handler: Histogram,
    unknown_state: Name,
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
    pub(super) fn new(channel: Name, states: Vec<Arc<str>>, families: Families) -> Self {
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
        let handler = |state: &Arc<str>| {
            families.handlers.get_or_create_owned(&ByState {
                channel: channel.clone(),
                state: Name(state.clone()),
            })
        };
        let unknown_state: Arc<str> = UNKNOWN_STATE.into();
        let handlers = states
            .iter()
            .map(|state| (state.clone(), handler(state)))
            .collect();
        Self {
            handlers,
            unknown_handler: handler(&unknown_state),
            unknown_state: Name(unknown_state),
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
                    from: self.state_label(from),
                    to: self.state_label(to),
                })
                .inc();
        }
    }

    /// The label of `state`: its own name if the bot has it.
    fn state_label(&self, state: &str) -> Name {
        self.handlers
            .iter()
            .find(|(known, _)| **known == *state)
            .map_or_else(
                || self.unknown_state.clone(),
                |(known, _)| Name(known.clone()),
            )
    }

    /// A webhook of this channel was answered `took` after it arrived.
    pub(crate) fn answered(&self, took: Duration) {
        self.answers.observe(took.as_secs_f64());
    }

    /// The handler ran `took` in `state`. The bot hands out its own name of a known state,
    /// so the pointer usually matches before the text is compared.
    pub(crate) fn handled(&self, state: &Arc<str>, took: Duration) {
        let histogram = self
            .handlers
            .iter()
            .find(|(known, _)| Arc::ptr_eq(known, state))
            .or_else(|| self.handlers.iter().find(|(known, _)| **known == **state))
            .map_or(&self.unknown_handler, |(_, histogram)| histogram);
        histogram.observe(took.as_secs_f64());
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
