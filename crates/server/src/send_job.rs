//! A message to send, as a queue job: a proactive message, or the reply of an in-response
//! handler that missed its deadline. It takes the same durable path as the replies of via-API
//! deliveries: the conversation's lane (so it keeps its place among that conversation's
//! replies), retries, dead letters, replay, and survival across a crash. Its body is marked as
//! `job_body` says.

use botwire_core::Reply;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::job_body;

/// What a send job's body starts with.
const MARK: &[u8] = b"\0botwire-send\0";

/// A message waiting to be sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SendJob {
    /// What to send.
    pub(crate) reply: Reply,
    /// Its stable id (`Outgoing::message_id`).
    pub(crate) message_id: String,
    /// The delivery it answers, for a late reply; `None` for a proactive message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) in_reply_to: Option<String>,
}

impl SendJob {
    /// A proactive message, under a fresh random id (ids never repeat across restarts or
    /// instances: a platform may take one as the message's own).
    pub(crate) fn proactive(reply: Reply) -> Self {
        Self {
            reply,
            message_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            in_reply_to: None,
        }
    }

    /// The late reply to `delivery_id`; its id derives from the delivery, as a reply's does.
    pub(crate) fn late_reply(reply: Reply, delivery_id: &str) -> Self {
        Self {
            reply,
            message_id: format!("reply-{delivery_id}"),
            in_reply_to: Some(delivery_id.to_owned()),
        }
    }

    /// The delivery-log name of what it is.
    pub(crate) fn kind(&self) -> &'static str {
        if self.in_reply_to.is_some() {
            "late_reply"
        } else {
            "message"
        }
    }

    /// The job body.
    pub(crate) fn encode(&self) -> Bytes {
        job_body::encode(MARK, self)
    }

    /// The send job in `body`, `None` when `body` is not one, or an error when it is a send
    /// job that no longer decodes (written by an incompatible build).
    pub(crate) fn decode(body: &[u8]) -> Option<Result<Self, serde_json::Error>> {
        job_body::decode(MARK, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_job_round_trips_and_a_delivery_is_not_one() {
        let job = SendJob::late_reply(Reply::text("late").goto("idle"), "m1");
        let decoded = SendJob::decode(&job.encode())
            .expect("a send job")
            .expect("decodes");
        assert_eq!(decoded.message_id, "reply-m1");
        assert_eq!(decoded.in_reply_to.as_deref(), Some("m1"));
        assert_eq!(decoded.kind(), "late_reply");
        assert_eq!(decoded.reply.out_message().map(|m| m.body()), Some("late"));

        for delivery in [
            &b"{\"event\":\"MESSAGE\"}"[..],
            b"token=x&text=y",
            b"",
            b"\0other",
        ] {
            assert!(SendJob::decode(delivery).is_none());
        }
        let broken = [MARK, b"{not json"].concat();
        assert!(SendJob::decode(&broken).expect("marked").is_err());
    }

    #[test]
    fn proactive_ids_are_fresh() {
        let (a, b) = (
            SendJob::proactive(Reply::text("a")),
            SendJob::proactive(Reply::text("b")),
        );
        assert_ne!(a.message_id, b.message_id);
        assert!(a.message_id.starts_with("msg_") && a.message_id.len() == 36);
        assert_eq!(a.kind(), "message");
    }
}
