//! A state timeout that fell due, as a queue job: it waits in its conversation's lane behind
//! the events accepted before it, and a worker runs it like a delivery (checkpoint, state saved
//! by compare-and-swap, its message through the outbox, retries, dead letters). Its body is
//! marked as `job_body` says.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::job_body;

/// What a timeout job's body starts with.
const MARK: &[u8] = b"\0botwire-timeout\0";

/// The timer that fell due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimeoutJob {
    /// The state it times out of.
    pub(crate) state: String,
    /// The timer's generation: the job does nothing once an event has set the timer anew.
    pub(crate) generation: u64,
}

impl TimeoutJob {
    /// The job's delivery id, and the id of the message it sends: one per timer, so that a
    /// resend is not a second message where the platform takes ids.
    pub(crate) fn delivery_id(&self) -> String {
        format!("timeout-{}", self.generation)
    }

    /// The job body.
    pub(crate) fn encode(&self) -> Bytes {
        job_body::encode(MARK, self)
    }

    /// The timeout job in `body`, `None` when `body` is not one, or an error when it is one
    /// that no longer decodes.
    pub(crate) fn decode(body: &[u8]) -> Option<Result<Self, serde_json::Error>> {
        job_body::decode(MARK, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send_job::SendJob;

    #[test]
    fn a_timeout_job_round_trips_and_is_told_from_the_other_jobs() {
        let job = TimeoutJob {
            state: "teaching".into(),
            generation: 42,
        };
        let body = job.encode();
        assert_eq!(
            TimeoutJob::decode(&body).expect("marked").expect("decodes"),
            job
        );
        assert_eq!(job.delivery_id(), "timeout-42");
        assert!(SendJob::decode(&body).is_none(), "not a send job");
        let send = SendJob::proactive(botwire_core::Reply::text("hi")).encode();
        assert!(TimeoutJob::decode(&send).is_none());
        assert!(TimeoutJob::decode(b"{\"event\":\"x\"}").is_none());
        let broken = [MARK, b"{"].concat();
        assert!(TimeoutJob::decode(&broken).expect("marked").is_err());
    }
}
