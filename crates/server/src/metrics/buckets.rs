//! Histogram buckets. Answer latency is read against the platform's deadline, so the deadline
//! of every mounted channel, and the moment the server gives up on a late handler before it,
//! are bucket bounds: "answered within the deadline" is one bucket's count, not an estimate.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::family::MetricConstructor;
use prometheus_client::metrics::histogram::Histogram;

use crate::deadline::answer_by;

/// From a millisecond to a minute, for handlers and answers.
const LATENCY: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// From 50 µs to a second, for store calls.
pub(crate) const STORE: [f64; 12] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0,
];

/// Bucket bounds a family's histograms are made with.
#[derive(Clone, Debug)]
pub(crate) struct Buckets(Arc<[f64]>);

impl Buckets {
    pub(crate) fn new(bounds: impl IntoIterator<Item = f64>) -> Self {
        let mut bounds: Vec<f64> = bounds.into_iter().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        Self(bounds.into())
    }

    /// The latency buckets and, for each deadline, the deadline and the moment the answer
    /// leaves without the handler.
    pub(crate) fn around_deadlines(deadlines: impl IntoIterator<Item = Duration>) -> Self {
        let start = tokio::time::Instant::now();
        let marks = deadlines.into_iter().flat_map(|deadline| {
            let gives_up = answer_by(start, deadline).duration_since(start);
            [gives_up.as_secs_f64(), deadline.as_secs_f64()]
        });
        Self::new(LATENCY.into_iter().chain(marks))
    }

    pub(crate) fn latency() -> Self {
        Self::new(LATENCY)
    }

    #[cfg(test)]
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.0
    }
}

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_and_their_cut_offs_are_bounds() {
        let buckets = Buckets::around_deadlines([
            Duration::from_secs(5),
            Duration::from_secs(30),
            Duration::from_secs(5),
        ]);
        let bounds = buckets.bounds();
        for expected in [4.5, 5.0, 29.5, 30.0, 0.001] {
            assert!(bounds.contains(&expected), "{expected} in {bounds:?}");
        }
        assert!(bounds.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
    }
}
