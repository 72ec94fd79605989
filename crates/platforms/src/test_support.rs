//! Helpers shared by the platforms' unit tests.

use bytes::Bytes;
use http::Request;
use http::request::Parts;

use std::sync::Arc;

use crate::{Adapter, ChannelSettings, Inbound, Parsed, Platform, SettingError, Verified};

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

/// What `platform` makes of a channel of its own id with these settings, given in code.
pub(crate) fn configure(
    platform: &dyn Platform,
    pairs: &[(&str, &str)],
) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
    let settings = pairs.iter().fold(
        ChannelSettings::new(platform.id()),
        |settings, (key, value)| settings.with(key, *value),
    );
    platform.configure(&settings)
}
