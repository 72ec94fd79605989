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
    /// That delivery's verified body as it is stored (`Verified::to_stored`), base64: parsed
    /// again when the reply is sent, so the outbox sees the event it answers (LINE's reply
    /// token, a Discord interaction's token). Late replies queued before it was kept have
    /// none, and go out as proactive messages do.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "base64_bytes"
    )]
    pub(crate) delivery: Option<Bytes>,
}

impl SendJob {
    /// A proactive message, under a fresh random id (ids never repeat across restarts or
    /// instances: a platform may take one as the message's own).
    pub(crate) fn proactive(reply: Reply) -> Self {
        Self {
            reply,
            message_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            in_reply_to: None,
            delivery: None,
        }
    }

    /// The late reply to `delivery_id`, whose stored verified body is `delivery`; its id
    /// derives from the delivery, as a reply's does.
    pub(crate) fn late_reply(reply: Reply, delivery_id: &str, delivery: Bytes) -> Self {
        Self {
            reply,
            message_id: format!("reply-{delivery_id}"),
            in_reply_to: Some(delivery_id.to_owned()),
            delivery: Some(delivery),
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

/// Bytes as a base64 string: a verified body need not be text.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` hands over `&Option<T>`
    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Bytes>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => serializer.serialize_str(&STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Bytes>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        STANDARD
            .decode(text)
            .map(|bytes| Some(Bytes::from(bytes)))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_job_round_trips_and_a_delivery_is_not_one() {
        let delivery = Bytes::from_static(b"\0botwire-verified\0{}\0{\"a\":1}");
        let job = SendJob::late_reply(Reply::text("late").goto("idle"), "m1", delivery.clone());
        let decoded = SendJob::decode(&job.encode())
            .expect("a send job")
            .expect("decodes");
        assert_eq!(decoded.message_id, "reply-m1");
        assert_eq!(decoded.delivery, Some(delivery));
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
        let bad_base64 = [
            MARK,
            br#"{"reply":{},"message_id":"m","delivery":"%%"}"#.as_slice(),
        ]
        .concat();
        assert!(SendJob::decode(&bad_base64).expect("marked").is_err());
    }

    #[test]
    fn a_late_reply_queued_before_the_delivery_was_kept_still_decodes() {
        let reply = serde_json::to_value(Reply::text("hi")).expect("serializes");
        let old =
            serde_json::json!({"reply": reply, "message_id": "reply-m1", "in_reply_to": "m1"});
        let body = [MARK, old.to_string().as_bytes()].concat();
        let job = SendJob::decode(&body).expect("marked").expect("decodes");
        assert_eq!(job.delivery, None);
        assert_eq!(job.in_reply_to.as_deref(), Some("m1"));
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
