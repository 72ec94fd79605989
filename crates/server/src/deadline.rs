//! When an answer must leave: a little before the platform's deadline, so that it arrives
//! in time. The in-response path gives up on a late handler then; the metrics' buckets mark it.

use std::time::Duration;

use tokio::time::Instant;

/// The answer leaves this long before the platform's deadline at most (less for short ones).
const MAX_MARGIN: Duration = Duration::from_millis(500);

/// When the answer must leave: the deadline less a margin of a tenth of it, at most 500 ms.
pub(crate) fn answer_by(arrived: Instant, deadline: Duration) -> Instant {
    arrived + deadline - (deadline / 10).min(MAX_MARGIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_leaves_before_the_deadline() {
        let now = Instant::now();
        assert_eq!(
            answer_by(now, Duration::from_secs(5)),
            now + Duration::from_millis(4500)
        );
        assert_eq!(
            answer_by(now, Duration::from_secs(30)),
            now + Duration::from_millis(29_500)
        );
        assert_eq!(
            answer_by(now, Duration::from_millis(200)),
            now + Duration::from_millis(180)
        );
    }
}
