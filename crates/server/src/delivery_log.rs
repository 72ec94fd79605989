//! The delivery log: a bounded record of recent deliveries and what became of them, read as
//! JSON on the admin listener (`GET /deliveries`), plus running totals per outcome.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// How many deliveries the log keeps by default.
pub const DEFAULT_CAPACITY: usize = 1000;

/// What became of a delivery (or of one attempt at it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Refused before it reached a handler: bad credentials, too large, too slow, malformed.
    Rejected,
    /// The handler answered with a message, and it was delivered.
    Replied,
    /// The handler answered without a message.
    NoReply,
    /// In-response: the platform got the no-op in time; the handler finished later.
    Late,
    /// Acknowledged and queued for a worker.
    Queued,
    /// Acknowledged but not handled (a filtered or unknown event).
    Ignored,
    /// A duplicate, answered as the original was.
    Duplicate,
    /// This attempt failed; it will be retried.
    Retrying,
    /// Failed for good: the sender's retry runs it again (in-response), or it is a dead letter.
    Failed,
    /// Given up on and kept in the dead-letter list.
    DeadLetter,
}

/// Every outcome, in the order of the totals.
pub(crate) const OUTCOMES: [Outcome; 10] = [
    Outcome::Rejected,
    Outcome::Replied,
    Outcome::NoReply,
    Outcome::Late,
    Outcome::Queued,
    Outcome::Ignored,
    Outcome::Duplicate,
    Outcome::Retrying,
    Outcome::Failed,
    Outcome::DeadLetter,
];

impl Outcome {
    /// Its name in the delivery log and in metrics (`replied`, `dead_letter`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Replied => "replied",
            Self::NoReply => "no_reply",
            Self::Late => "late",
            Self::Queued => "queued",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::DeadLetter => "dead_letter",
        }
    }

    /// The outcome named `name` ([`as_str`](Self::as_str)'s names).
    pub fn from_name(name: &str) -> Option<Self> {
        OUTCOMES.into_iter().find(|o| o.as_str() == name)
    }
}

/// Which records [`DeliveryLog::matching`] returns: all of them by default, narrowed by
/// channel, outcome and conversation (each compared whole).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    channel: Option<&'a str>,
    outcome: Option<Outcome>,
    conversation: Option<&'a str>,
}

impl<'a> Filter<'a> {
    /// Only records of `channel`.
    #[must_use]
    pub fn channel(mut self, channel: &'a str) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Only records with `outcome`.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Only records of `conversation`.
    #[must_use]
    pub fn conversation(mut self, conversation: &'a str) -> Self {
        self.conversation = Some(conversation);
        self
    }

    fn admits(&self, record: &Record) -> bool {
        self.channel.is_none_or(|c| record.channel == c)
            && self.outcome.is_none_or(|o| record.outcome == o)
            && self
                .conversation
                .is_none_or(|c| record.conversation.as_deref() == Some(c))
    }
}

/// One line of the log.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Record {
    /// When it was recorded; RFC 3339 (UTC, milliseconds) in JSON. Formatted only when read:
    /// every delivery makes a record, few are ever looked at.
    #[serde(serialize_with = "rfc3339_millis")]
    pub at: SystemTime,
    /// The channel.
    pub channel: String,
    /// The platform id.
    pub platform: &'static str,
    /// The event kind (`message`, `members_joined`, …), when it was parsed.
    pub kind: Option<String>,
    /// The conversation.
    pub conversation: Option<String>,
    /// The delivery id.
    pub delivery_id: Option<String>,
    /// The state the handler ran in.
    pub state_before: Option<String>,
    /// The state after it.
    pub state_after: Option<String>,
    /// What became of it.
    pub outcome: Outcome,
    /// From arrival (or the start of a worker's attempt) to this record.
    pub latency_ms: u64,
    /// Which attempt this was (1 for the first).
    pub attempt: u32,
    /// The reply's text.
    pub reply: Option<String>,
    /// Why it failed or was ignored.
    pub detail: Option<String>,
    /// The rejection's code, for a refused request: what metrics count refusals by.
    #[serde(skip)]
    pub(crate) reason: Option<&'static str>,
}

impl Record {
    /// A record of `outcome` on `channel`, taken `latency` after the work started.
    pub(crate) fn new(
        channel: &str,
        platform: &'static str,
        outcome: Outcome,
        latency: Duration,
    ) -> Self {
        Self {
            at: SystemTime::now(),
            channel: channel.to_owned(),
            platform,
            kind: None,
            conversation: None,
            delivery_id: None,
            state_before: None,
            state_after: None,
            outcome,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            attempt: 1,
            reply: None,
            detail: None,
            reason: None,
        }
    }

    pub(crate) fn delivery(mut self, kind: &str, conversation: &str, delivery_id: &str) -> Self {
        self.kind = Some(kind.to_owned());
        self.conversation = Some(conversation.to_owned());
        self.delivery_id = Some(delivery_id.to_owned());
        self
    }

    pub(crate) fn states(mut self, before: &str, after: Option<&str>) -> Self {
        self.state_before = Some(before.to_owned());
        self.state_after = after.map(str::to_owned);
        self
    }

    pub(crate) fn reply(mut self, reply: Option<&str>) -> Self {
        self.reply = reply.map(str::to_owned);
        self
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A refusal with the rejection's `code` and `message`.
    pub(crate) fn refused(mut self, code: &'static str, message: &str) -> Self {
        self.reason = Some(code);
        self.detail(format!("{code}: {message}"))
    }

    pub(crate) fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }
}

fn rfc3339_millis<S: serde::Serializer>(at: &SystemTime, to: S) -> Result<S::Ok, S::Error> {
    to.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// Told of every record as it is made (the server's metrics count them).
pub(crate) type Observer = Box<dyn Fn(&Record) + Send + Sync>;

/// The log. Recording takes a short lock; the oldest record goes when it is full.
pub struct DeliveryLog {
    records: Mutex<VecDeque<Record>>,
    capacity: usize,
    totals: [AtomicU64; OUTCOMES.len()],
    observer: Option<Observer>,
}

impl std::fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLog")
            .field("capacity", &self.capacity)
            .field("totals", &self.totals)
            .finish_non_exhaustive()
    }
}

impl Default for DeliveryLog {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DeliveryLog {
    /// A log keeping the last `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Self {
            records: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity,
            totals: Default::default(),
            observer: None,
        }
    }

    /// The same log, telling `observer` of every record.
    pub(crate) fn observed_by(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Adds a record.
    pub fn record(&self, record: Record) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == record.outcome) {
            self.totals[i].fetch_add(1, Ordering::Relaxed);
        }
        if let Some(observer) = &self.observer {
            observer(&record);
        }
        if self.capacity == 0 {
            return;
        }
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() >= self.capacity {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// The most recent records, newest first, at most `limit`, optionally of one channel.
    pub fn recent(&self, limit: usize, channel: Option<&str>) -> Vec<Record> {
        let filter = Filter::default();
        self.matching(limit, &channel.map_or(filter, |c| filter.channel(c)))
    }

    /// The most recent records that `filter` admits, newest first, at most `limit`.
    pub fn matching(&self, limit: usize, filter: &Filter<'_>) -> Vec<Record> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .iter()
            .rev()
            .filter(|r| filter.admits(r))
            .take(limit)
            .cloned()
            .collect()
    }

    /// How many records of each outcome were made since start (including those no longer kept).
    pub fn totals(&self) -> Vec<(Outcome, u64)> {
        OUTCOMES
            .iter()
            .zip(&self.totals)
            .map(|(o, n)| (*o, n.load(Ordering::Relaxed)))
            .collect()
    }

    /// How many records of `outcome` were made since start.
    pub fn total(&self, outcome: Outcome) -> u64 {
        self.totals()
            .into_iter()
            .find(|(o, _)| *o == outcome)
            .map_or(0, |(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(channel: &str, outcome: Outcome) -> Record {
        Record::new(channel, "kamigo", outcome, Duration::from_millis(3))
    }

    #[test]
    fn keeps_the_newest_and_counts_everything() {
        let log = DeliveryLog::new(2);
        log.record(record("a", Outcome::Queued));
        log.record(record("b", Outcome::Replied));
        log.record(record("a", Outcome::Replied));
        let recent = log.recent(10, None);
        assert_eq!(recent.len(), 2);
        assert_eq!(recent[0].channel, "a", "newest first");
        assert_eq!(recent[1].channel, "b");
        assert_eq!(log.recent(10, Some("b")).len(), 1);
        assert_eq!(log.recent(1, None).len(), 1);
        assert_eq!(log.total(Outcome::Replied), 2);
        assert_eq!(
            log.total(Outcome::Queued),
            1,
            "counted though no longer kept"
        );
        assert_eq!(log.total(Outcome::DeadLetter), 0);
    }

    #[test]
    fn records_serialize_with_snake_case_outcomes() {
        let r = record("a", Outcome::DeadLetter)
            .delivery("message", "room", "id-1")
            .states("idle", Some("teaching"))
            .reply(Some("hi"))
            .detail("outbox: 500")
            .attempt(3);
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["outcome"], "dead_letter");
        for outcome in OUTCOMES {
            let name = serde_json::to_value(outcome).expect("json");
            assert_eq!(name, outcome.as_str(), "metrics and the log name it alike");
        }
        assert_eq!(json["state_after"], "teaching");
        assert_eq!(json["attempt"], 3);
        assert_eq!(json["latency_ms"], 3);
        assert!(json["at"].as_str().expect("a time").ends_with('Z'));
    }

    #[test]
    fn a_filter_narrows_by_channel_outcome_and_conversation() {
        let log = DeliveryLog::new(10);
        log.record(record("a", Outcome::Replied).delivery("message", "room-1", "d1"));
        log.record(record("a", Outcome::Failed).delivery("message", "room-2", "d2"));
        log.record(record("b", Outcome::Replied).delivery("message", "room-1", "d3"));
        log.record(record("a", Outcome::Rejected));
        let ids = |filter: Filter<'_>| -> Vec<Option<String>> {
            log.matching(10, &filter)
                .into_iter()
                .map(|r| r.delivery_id)
                .collect()
        };
        assert_eq!(ids(Filter::default()).len(), 4);
        assert_eq!(
            ids(Filter::default().outcome(Outcome::Replied)),
            [Some("d3".into()), Some("d1".into())]
        );
        assert_eq!(
            ids(Filter::default().channel("a").conversation("room-1")),
            [Some("d1".into())]
        );
        assert_eq!(
            ids(Filter::default().conversation("room")),
            Vec::<Option<String>>::new(),
            "compared whole, not as a prefix"
        );
        assert_eq!(
            ids(Filter::default().channel("a").outcome(Outcome::Rejected)),
            [None]
        );
    }

    #[test]
    fn outcomes_are_found_by_name() {
        for outcome in OUTCOMES {
            assert_eq!(Outcome::from_name(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::from_name("Replied"), None);
        assert_eq!(Outcome::from_name(""), None);
    }

    #[test]
    fn a_zero_capacity_log_only_counts() {
        let log = DeliveryLog::new(0);
        log.record(record("a", Outcome::Replied));
        assert!(log.recent(10, None).is_empty());
        assert_eq!(log.total(Outcome::Replied), 1);
    }
}
