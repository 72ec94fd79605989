//! A mounted channel as one delivery sees it: its name, platform adapter, bot, outbox and who
//! may deliver to it; and how long its answers are remembered for duplicates.

use std::sync::Arc;
use std::time::Duration;

use botwire_core::Bot;
use botwire_platforms::{Adapter, Inbound, Outbox};
use ipnet::IpNet;

use crate::delivery_log::{Outcome, Record};
use crate::metrics::ChannelMetrics;

/// How long a done delivery's response is remembered for duplicates.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A mounted channel, resolved.
pub(crate) struct Route {
    pub(crate) name: Arc<str>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) bot: Arc<Bot>,
    /// Where replies go (via-API platforms).
    pub(crate) outbox: Arc<dyn Outbox>,
    /// Who may deliver (empty: anyone).
    pub(crate) allow_from: Vec<IpNet>,
    /// The channel's metric handles.
    pub(crate) metrics: ChannelMetrics,
}

impl Route {
    /// Who keeps this channel's conversation states: `platform` (sent with each delivery) or
    /// `botwire` (its state store).
    pub(crate) fn state_kept_by(&self) -> &'static str {
        if self.adapter.carries_state() {
            "platform"
        } else {
            "botwire"
        }
    }

    /// A delivery-log record of `outcome` for `inbound` on this channel.
    pub(crate) fn record(&self, inbound: &Inbound, outcome: Outcome, latency: Duration) -> Record {
        Record::new(&self.name, self.adapter.platform(), outcome, latency).delivery(
            inbound.event.kind().name(),
            &inbound.conversation,
            &inbound.delivery_id,
        )
    }
}
