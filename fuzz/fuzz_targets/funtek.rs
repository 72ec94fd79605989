#![no_main]
//! FUNTEK: token and HMAC verification, then the parser.

use std::sync::LazyLock;

use botwire_platforms::funtek::{FuntekAdapter, SIGNATURE_HEADER};
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<FuntekAdapter> = LazyLock::new(|| {
    FuntekAdapter::builder()
        .token("t")
        .signing_secret("fuzz")
        .build()
        .expect("credentials")
});

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
});
