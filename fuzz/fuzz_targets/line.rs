#![no_main]
//! LINE: base64 HMAC verification, then the parser (every event of the body, and each one's
//! own body parsed again alone, as the worker does).

use std::sync::LazyLock;

use botwire_platforms::auth::Secret;
use botwire_platforms::line::{LineAdapter, SIGNATURE_HEADER};
use botwire_platforms::{Adapter, Parsed, Verified};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<LineAdapter> =
    LazyLock::new(|| LineAdapter::new(&[Secret::new("fuzz")]).expect("a secret"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
    if let Ok(Parsed::Batch(batch)) = ADAPTER.parse(Verified::stored(Bytes::copy_from_slice(data))) {
        for inbound in batch {
            if let Some(own) = inbound.body {
                let again = ADAPTER.parse(Verified::stored(own.to_stored()));
                assert!(
                    matches!(again, Ok(Parsed::Batch(ref one)) if one.len() == 1),
                    "a batch member parses again alone"
                );
            }
        }
    }
});
