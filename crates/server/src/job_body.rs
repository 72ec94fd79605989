//! Queue jobs that are not deliveries: a message to send, a state timeout to run. A job's body
//! is opaque to the queue. A delivery's is the platform's verified raw body, which is never
//! empty and begins as JSON, a form or text would; these begin with a mark that starts with a
//! NUL byte, which no such body starts with, and carry JSON after it. The mark makes the job
//! self-describing in every store, without a field the stores would have to keep.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `value` as a job body behind `mark`.
pub(crate) fn encode(mark: &[u8], value: &impl Serialize) -> Bytes {
    let mut body = mark.to_vec();
    // Strings, numbers and JSON values: they always serialize. Were one not to, the bare mark
    // would not decode, and the worker would keep the job as a dead letter saying so.
    if serde_json::to_writer(&mut body, value).is_err() {
        body.truncate(mark.len());
    }
    Bytes::from(body)
}

/// The value behind `mark` in `body`: `None` when `body` does not carry that mark (a
/// delivery's, or another kind of job's), an error when it does but no longer decodes
/// (written by an incompatible build).
pub(crate) fn decode<T: DeserializeOwned>(
    mark: &[u8],
    body: &[u8],
) -> Option<Result<T, serde_json::Error>> {
    let json = body.strip_prefix(mark)?;
    Some(serde_json::from_slice(json))
}
