#![no_main]
//! Chatwork: base64 HMAC from the header or the query, then the parser.

use std::sync::LazyLock;

use botwire_platforms::auth::Secret;
use botwire_platforms::chatwork::{ChatworkAdapter, SIGNATURE_HEADER};
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<ChatworkAdapter> =
    LazyLock::new(|| ChatworkAdapter::new(&[Secret::new("ZnV6eg==")]).expect("a base64 token"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
});
