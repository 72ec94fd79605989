//! Helpers shared by the platforms' unit tests.

use bytes::Bytes;
use http::Request;
use http::request::Parts;

use crate::{Adapter, Inbound, Parsed, Verified};

/// The head of a POST to `uri` with these headers.
pub(crate) fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut request = Request::post(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).expect("valid request").into_parts().0
}

/// What `adapter` parses `body` into, which must be an event.
pub(crate) fn parse_event(adapter: &dyn Adapter, body: &str) -> Inbound {
    match adapter
        .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
        .expect("parses")
    {
        Parsed::Event(inbound) => *inbound,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Why `adapter` ignores `body`.
pub(crate) fn parse_ignored(adapter: &dyn Adapter, body: &str) -> &'static str {
    match adapter
        .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
        .expect("parses")
    {
        Parsed::Ignored { reason } => reason,
        other => panic!("expected it to be ignored, got {other:?}"),
    }
}
