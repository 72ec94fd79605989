//! Conversation state with optimistic concurrency.

use async_trait::async_trait;

use crate::{ConversationKey, StoreError};

/// A conversation's bot state and the version it was saved at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The state name.
    pub state: String,
    /// Increases by one with every save.
    pub version: u64,
}

/// Keeps each conversation's bot state, for platforms that do not carry it themselves.
#[async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// The conversation's state, or `None` if it has none yet.
    async fn load(&self, key: &ConversationKey<'_>) -> Result<Option<Versioned>, StoreError>;

    /// Saves `state` if the stored version is still `expected` (`None`: no state yet), and
    /// returns the new version. Fails with [`StoreError::Conflict`] otherwise.
    async fn save(
        &self,
        key: &ConversationKey<'_>,
        state: &str,
        expected: Option<u64>,
    ) -> Result<u64, StoreError>;

    /// Checks that the backend is reachable (for readiness).
    async fn ping(&self) -> Result<(), StoreError>;
}
