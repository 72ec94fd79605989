#![no_main]
//! Discord: Ed25519 verification over the fuzzed headers, then the parser, and the answer
//! rendered for what parsed (always JSON).

use std::sync::LazyLock;

use botwire_core::Reply;
use botwire_platforms::discord::{DiscordAdapter, SIGNATURE_HEADER};
use botwire_platforms::{Adapter, Parsed, Verified};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// RFC 8032's first test key.
static ADAPTER: LazyLock<DiscordAdapter> = LazyLock::new(|| {
    DiscordAdapter::new(&["d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"])
        .expect("a key")
});

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
    if let Ok(Parsed::Event(inbound)) = ADAPTER.parse(Verified::stored(Bytes::copy_from_slice(data))) {
        let text = String::from_utf8_lossy(data);
        for reply in [Reply::text(text.as_ref()), Reply::none()] {
            let answer = ADAPTER.render_to(&inbound, &reply, None);
            let _: serde_json::Value = serde_json::from_slice(&answer).expect("the answer is JSON");
        }
    }
});
