//! The label sets of botwire's metrics. Every value is from a small set — a channel, a state,
//! an outcome, a rejection code, a store operation — never a conversation or delivery id.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// A name the server already holds as `Arc<str>` (a channel, a state): labelling with it
/// clones a pointer, not the text.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Name(pub(crate) Arc<str>);

impl EncodeLabelValue for Name {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, &self.0)
    }
}

impl From<&str> for Name {
    fn from(name: &str) -> Self {
        Self(name.into())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByChannel {
    pub(crate) channel: Name,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByOutcome {
    pub(crate) channel: Name,
    pub(crate) outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByReason {
    pub(crate) channel: Name,
    pub(crate) reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByState {
    pub(crate) channel: Name,
    pub(crate) state: Name,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByTransition {
    pub(crate) channel: Name,
    pub(crate) from: Name,
    pub(crate) to: Name,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByFailure {
    pub(crate) channel: Name,
    /// `transient` or `permanent`.
    pub(crate) kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByOperation {
    pub(crate) operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ByJobStatus {
    /// `queued` (every unfinished job) or `in_progress` (held by a worker now).
    pub(crate) status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Build {
    pub(crate) version: &'static str,
}
