#![no_main]
//! Kamigo: `sha256=` HMAC verification, then the parser.

use std::sync::LazyLock;

use botwire_platforms::auth::Secret;
use botwire_platforms::kamigo::{KamigoAdapter, SIGNATURE_HEADER};
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<KamigoAdapter> =
    LazyLock::new(|| KamigoAdapter::new(&[Secret::new("fuzz")]).expect("a secret"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
});
