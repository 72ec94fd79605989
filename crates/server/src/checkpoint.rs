//! What a via-API attempt finished before it sends: the reply, and the state it moves the
//! conversation to. Stored with the job (`Queue::checkpoint`) before the state is saved, so an
//! attempt that dies after it (a failed send, a crash) resumes from here and never runs the
//! handler again.
//!
//! It outlives the process that wrote it, so it carries a version: a botwire that finds one it
//! cannot read says so (`CheckpointError`) instead of taking it for none.

use botwire_core::Reply;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The version this build writes, and the newest it reads.
const VERSION: u32 = 1;

/// One attempt's result, waiting to be sent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    /// The format's version. The first format had none: it reads as 1.
    #[serde(default = "first_version")]
    v: u32,
    pub(crate) reply: Reply,
    /// The state before the handler ran.
    pub(crate) from: String,
    /// The state to save, and the version it must replace, when the state changes.
    pub(crate) to: Option<(String, Option<u64>)>,
}

fn first_version() -> u32 {
    1
}

/// Why a stored checkpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckpointError {
    /// Written by a newer botwire.
    #[error("the job's checkpoint is of version {0}, newer than this botwire reads ({VERSION})")]
    Newer(u32),
    /// Not a checkpoint (damaged, or not JSON).
    #[error("the job's checkpoint does not decode: {0}")]
    Malformed(#[source] serde_json::Error),
}

impl Checkpoint {
    pub(crate) fn new(reply: Reply, from: String, to: Option<(String, Option<u64>)>) -> Self {
        Self {
            v: VERSION,
            reply,
            from,
            to,
        }
    }

    /// The bytes stored with the job.
    pub(crate) fn encode(&self) -> Bytes {
        // Strings and JSON values only: serializing cannot fail. Were it to, the empty
        // checkpoint would not decode, and the next attempt would say so and run the handler.
        serde_json::to_vec(self)
            .map(Bytes::from)
            .unwrap_or_default()
    }

    /// Reads what [`encode`](Self::encode) (this version or an older one) stored.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let checkpoint: Self = serde_json::from_slice(bytes).map_err(CheckpointError::Malformed)?;
        if checkpoint.v > VERSION {
            return Err(CheckpointError::Newer(checkpoint.v));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_reads_back_as_written() {
        let written = Checkpoint::new(
            Reply::text("hi").goto("teaching"),
            "idle".into(),
            Some(("teaching".into(), Some(3))),
        );
        let bytes = written.encode();
        assert!(
            std::str::from_utf8(&bytes)
                .expect("JSON")
                .contains("\"v\":1")
        );
        let read = Checkpoint::decode(&bytes).expect("decodes");
        assert_eq!(read.reply, written.reply);
        assert_eq!((read.from, read.to), (written.from, written.to));
    }

    #[test]
    fn the_first_format_without_a_version_still_reads() {
        let reply = serde_json::to_string(&Reply::text("hi")).expect("serializes");
        let old = format!(r#"{{"reply":{reply},"from":"idle","to":null}}"#);
        let read = Checkpoint::decode(old.as_bytes()).expect("a version-less checkpoint is 1");
        assert_eq!(read.from, "idle");
        assert_eq!(read.reply, Reply::text("hi"));
    }

    #[test]
    fn a_newer_or_damaged_checkpoint_is_an_error_not_an_absence() {
        let mut newer = serde_json::to_value(Checkpoint::new(Reply::none(), "idle".into(), None))
            .expect("serializes");
        newer["v"] = 2.into();
        let newer = serde_json::to_vec(&newer).expect("serializes");
        let error = Checkpoint::decode(&newer).expect_err("too new");
        assert!(matches!(error, CheckpointError::Newer(2)), "{error}");
        assert!(error.to_string().contains("version 2"), "{error}");

        for damaged in [&b""[..], b"{", b"[1,2]", b"{\"v\":1}"] {
            let error = Checkpoint::decode(damaged).expect_err("not a checkpoint");
            assert!(matches!(error, CheckpointError::Malformed(_)), "{error}");
        }
    }
}
