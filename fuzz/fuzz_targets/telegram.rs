#![no_main]
//! Telegram: the secret token's check, the parser, and the answer rendered for what parsed.

use std::sync::LazyLock;

use botwire_core::Reply;
use botwire_platforms::auth::Secret;
use botwire_platforms::telegram::{SECRET_HEADER, TelegramAdapter};
use botwire_platforms::{Adapter, Parsed, Verified};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<TelegramAdapter> =
    LazyLock::new(|| TelegramAdapter::new(&[Secret::new("fuzz")]).expect("a secret"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SECRET_HEADER, data);
    if let Ok(Parsed::Event(inbound)) = ADAPTER.parse(Verified::stored(Bytes::copy_from_slice(data))) {
        let text = String::from_utf8_lossy(data);
        for reply in [Reply::text(text.as_ref()), Reply::none()] {
            let answer = ADAPTER.render_to(&inbound, &reply, None);
            if !answer.is_empty() {
                let _: serde_json::Value =
                    serde_json::from_slice(&answer).expect("the answer is JSON");
            }
        }
    }
});
