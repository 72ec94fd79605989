//! An outbox that keeps what it is given, for tests of via-API bots: await the replies in the
//! order they were sent, and make sends fail on purpose.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use botwire_platforms::{Outbox, OutboxError, Outgoing};
use tokio::sync::mpsc;

/// An [`Outbox`] that passes every reply it accepts to its [`Replies`], and can be told to fail.
#[derive(Debug, Clone)]
pub struct RecordingOutbox {
    sent: mpsc::UnboundedSender<Outgoing>,
    attempts: mpsc::UnboundedSender<Outgoing>,
    failures: Arc<Mutex<VecDeque<OutboxError>>>,
}

/// The receiving end of a [`RecordingOutbox`].
#[derive(Debug)]
pub struct Replies {
    sent: mpsc::UnboundedReceiver<Outgoing>,
    attempts: mpsc::UnboundedReceiver<Outgoing>,
}

impl RecordingOutbox {
    /// A recording outbox and the replies it records.
    pub fn new() -> (Self, Replies) {
        let (sent, sent_rx) = mpsc::unbounded_channel();
        let (attempts, attempts_rx) = mpsc::unbounded_channel();
        let outbox = Self {
            sent,
            attempts,
            failures: Arc::default(),
        };
        let replies = Replies {
            sent: sent_rx,
            attempts: attempts_rx,
        };
        (outbox, replies)
    }

    /// The next sends fail with these errors, one each, before sends succeed again.
    pub fn fail_with(&self, errors: impl IntoIterator<Item = OutboxError>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.extend(errors);
    }
}

#[async_trait]
impl Outbox for RecordingOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        // A test that dropped its receiver no longer listens; that is not a send failure.
        let _ = self.attempts.send(outgoing.clone());
        let failure = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if let Some(error) = failure {
            return Err(error);
        }
        let _ = self.sent.send(outgoing.clone());
        Ok(())
    }
}

impl Replies {
    /// The next reply delivered, in the order they were delivered.
    ///
    /// # Panics
    /// When the outbox is gone (the server stopped) before another reply came.
    pub async fn next(&mut self) -> Outgoing {
        self.sent.recv().await.expect("the server is running")
    }

    /// The text of the next reply delivered.
    pub async fn next_text(&mut self) -> String {
        self.next().await.text().unwrap_or_default().to_owned()
    }

    /// The next attempt to send (failed or not).
    ///
    /// # Panics
    /// When the outbox is gone before another attempt.
    pub async fn next_attempt(&mut self) -> Outgoing {
        self.attempts.recv().await.expect("the server is running")
    }

    /// A reply delivered already, if there is one, without waiting.
    pub fn try_next(&mut self) -> Option<Outgoing> {
        self.sent.try_recv().ok()
    }
}
