#![no_main]
//! Slack: `v0=` HMAC verification over the fuzzed headers, then the parser, and the refusal
//! headers for whatever it refused.

use std::sync::LazyLock;

use botwire_platforms::auth::Secret;
use botwire_platforms::slack::{SIGNATURE_HEADER, SlackAdapter};
use botwire_platforms::{Adapter, Verified};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<SlackAdapter> =
    LazyLock::new(|| SlackAdapter::new(&[Secret::new("fuzz")]).expect("a secret"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
    if let Err(refused) = ADAPTER.parse(Verified::stored(Bytes::copy_from_slice(data))) {
        let _ = ADAPTER.refusal_headers(&refused, true);
    }
});
