//! State timers: when a conversation falls due to leave a state that has a timeout. Kept in
//! the store, so that a timeout fires once across instances and survives a restart.
//!
//! Each event in a conversation sets its timer anew (or removes it), under a new generation:
//! the timeout that fires is told apart from one an event has since replaced. A server looks
//! for [`due`](Timers::due) timers, [`claims`](Timers::claim) one (only one instance gets it,
//! for a while), queues its work in the conversation's lane, and [`removes`](Timers::remove)
//! it once that work is done. A claim that runs out before then (a crash) lets the timer be
//! claimed again: the work may be queued twice, and the generation makes the second a no-op.

use std::time::SystemTime;

use async_trait::async_trait;

use crate::{ConversationKey, StoreError};

/// A conversation's pending timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// The state it times out of.
    pub state: String,
    /// When it falls due.
    pub due_at: SystemTime,
    /// Which setting of the conversation's timer this is: a new one with every event.
    pub generation: u64,
}

/// A due timer and its conversation, as [`Timers::due`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueTimer {
    /// The channel.
    pub channel: String,
    /// The conversation.
    pub conversation: String,
    /// The timer.
    pub timer: Timer,
}

impl DueTimer {
    /// `timer` of `conversation` on `channel` (for backends).
    pub fn new(channel: impl Into<String>, conversation: impl Into<String>, timer: Timer) -> Self {
        Self {
            channel: channel.into(),
            conversation: conversation.into(),
            timer,
        }
    }

    /// The conversation's key.
    pub fn key(&self) -> ConversationKey<'_> {
        ConversationKey::new(&self.channel, &self.conversation)
    }
}

/// Keeps one timer per conversation.
#[async_trait]
pub trait Timers: Send + Sync + 'static {
    /// Sets the conversation's timer, replacing the one it had, claim and all.
    async fn set(&self, key: &ConversationKey<'_>, timer: &Timer) -> Result<(), StoreError>;

    /// The conversation's timer, if it has one.
    async fn get(&self, key: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError>;

    /// Removes the conversation's timer if it is still `generation` (`None`: whichever it
    /// is). Whether one was removed.
    async fn remove(
        &self,
        key: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` timers due at `now` that nobody holds a claim on (or whose claim ran
    /// out), earliest first.
    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError>;

    /// Claims the conversation's timer `generation` until `until`, if it is still that one and
    /// nobody else holds it at `now`. Whether this caller got it.
    async fn claim(
        &self,
        key: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError>;
}

/// Milliseconds since the UNIX epoch, as backends keep times (0 before it).
pub fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the UNIX epoch.
pub fn from_epoch_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}
