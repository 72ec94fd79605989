//! The one error type of every store backend.

/// A boxed error from a backend's own client.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or failed; the caller may retry later.
    #[error("{backend} store unavailable: {source}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// What its client said.
        #[source]
        source: BoxError,
    },
    /// A compare-and-swap found another version than the one expected.
    #[error("state changed concurrently: expected version {expected:?}, found {actual:?}")]
    Conflict {
        /// The version the caller expected (`None`: no state yet).
        expected: Option<u64>,
        /// The version found (`None`: no state).
        actual: Option<u64>,
    },
    /// The queue holds as many jobs as it may; the sender should retry later.
    #[error("the queue is full ({capacity} jobs)")]
    QueueFull {
        /// How many jobs it holds at most.
        capacity: usize,
    },
    /// The claim is no longer held by this token: its lease expired and another worker took it,
    /// or it was completed or released already. For a queued job: another instance holds its
    /// partition now, and what this attempt did must not count.
    #[error("the claim on this delivery is no longer held")]
    ClaimLost,
}

impl StoreError {
    /// Whether the backend is down (as opposed to a conflict the caller can resolve).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
