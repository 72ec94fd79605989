//! An outbox that counts what becomes of its sends: delivered, failed (transient or
//! permanent), or held back by a rate limit.

use std::sync::Arc;

use async_trait::async_trait;
use botwire_platforms::{Outbox, OutboxError, Outgoing};

use super::ChannelMetrics;

/// `inner`, counted on its channel's handles.
#[derive(Debug)]
pub(crate) struct MeteredOutbox {
    inner: Arc<dyn Outbox>,
    metrics: ChannelMetrics,
}

impl MeteredOutbox {
    pub(crate) fn new(inner: Arc<dyn Outbox>, metrics: ChannelMetrics) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl Outbox for MeteredOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let sent = self.inner.send(outgoing).await;
        match &sent {
            Ok(()) => self.metrics.sent(),
            // Not a failure: the worker waits it out and sends again.
            Err(e) if e.is_rate_limited() => self.metrics.rate_limit_wait(),
            Err(e) => self.metrics.send_failed(e.is_transient()),
        }
        sent
    }

    fn delivers(&self) -> bool {
        self.inner.delivers()
    }

    fn speaks_first(&self) -> bool {
        self.inner.speaks_first()
    }
}
