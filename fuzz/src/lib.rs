//! What the fuzz targets share: how an input becomes a delivery.
//!
//! An input is a body, optionally followed by a NUL byte and the value of the signature header
//! (and, for platforms that have one, the token). The seed corpus is the seeds' example bodies
//! as they are, so every seed is a body with no header.

use botwire_platforms::{Adapter, Verified};
use bytes::Bytes;
use http::{HeaderValue, Request};

/// Runs `adapter`'s verify over the input's body and header, then parses the body whatever
/// verify said (the parser must survive any bytes a signed sender could send).
pub fn verify_and_parse(adapter: &dyn Adapter, header: &'static str, data: &[u8]) {
    let (body, value) = match data.iter().rposition(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let mut request = Request::post("/w?token=t&chatwork_webhook_signature=x");
    if let Ok(value) = HeaderValue::from_bytes(value) {
        request = request
            .header(header, value.clone())
            .header("authorization", value.clone())
            .header("x-webhook-timestamp", value.clone())
            .header("webhook-timestamp", value.clone())
            .header("webhook-id", value.clone())
            .header("x-slack-request-timestamp", value.clone())
            .header("x-signature-timestamp", value);
    }
    let Ok(request) = request.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let _ = adapter.verify(&parts, body);
    // As if signed: the parser must hold whatever a verified sender sends.
    let _ = adapter.parse(Verified::stored(Bytes::copy_from_slice(body)));
}
