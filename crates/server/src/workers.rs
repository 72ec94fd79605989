//! How via-API deliveries are worked off: the pool size, the queue's bounds, and the retry
//! policy for handlers and outboxes that fail.

use std::time::Duration;

/// The worker pool and its retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Workers {
    /// How many deliveries are worked on at once (each conversation one at a time). Default
    /// 128: a worker mostly waits (on the store's commits, the platform's API), and on a
    /// durable store the deliveries worked on together share their fsyncs; 32 left the
    /// embedded store's workers behind 64 senders.
    pub workers: usize,
    /// How many acknowledged deliveries may wait; past it, new ones get 503.
    pub capacity: usize,
    /// How many dead letters are kept.
    pub dead_letters: usize,
    /// Attempts before a delivery becomes a dead letter.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles with every attempt after.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// How long a handler may run before the attempt counts as failed.
    pub handler_timeout: Duration,
    /// How often the store is asked for state timeouts that fell due (default 1 s): a timeout
    /// fires at most this late. Only a bot with state timeouts asks.
    pub timer_poll: Duration,
}

impl Default for Workers {
    fn default() -> Self {
        Self {
            workers: 128,
            capacity: botwire_store::DEFAULT_CAPACITY,
            dead_letters: botwire_store::DEFAULT_DEAD_LETTERS,
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(5 * 60),
            handler_timeout: Duration::from_secs(30),
            timer_poll: Duration::from_secs(1),
        }
    }
}

impl Workers {
    /// Sets [`workers`](Self::workers).
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Sets [`capacity`](Self::capacity).
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`retry_base`](Self::retry_base) and [`retry_max`](Self::retry_max).
    #[must_use]
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.retry_base = base;
        self.retry_max = max.max(base);
        self
    }

    /// Sets [`handler_timeout`](Self::handler_timeout).
    #[must_use]
    pub fn with_handler_timeout(mut self, timeout: Duration) -> Self {
        self.handler_timeout = timeout;
        self
    }

    /// Sets [`timer_poll`](Self::timer_poll).
    #[must_use]
    pub fn with_timer_poll(mut self, every: Duration) -> Self {
        self.timer_poll = every;
        self
    }

    /// The wait after the `failed`-th failed attempt: base × 2^(failed−1), at most the max.
    pub fn backoff(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(30);
        self.retry_base
            .saturating_mul(1 << doublings)
            .min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max() {
        let w = Workers::default().with_backoff(Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<u64> = (1..=6).map(|n| w.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(w.backoff(u32::MAX), Duration::from_secs(10));
        assert_eq!(w.with_max_attempts(0).max_attempts, 1);
        assert_eq!(Workers::default().with_workers(0).workers, 1);
    }
}
