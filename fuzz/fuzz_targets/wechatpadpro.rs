#![no_main]
//! WeChatPadPro: timestamp window and HMAC verification, then the parser.

use std::sync::LazyLock;

use botwire_platforms::auth::Secret;
use botwire_platforms::wechatpadpro::{SIGNATURE_HEADER, WeChatPadProAdapter};
use libfuzzer_sys::fuzz_target;

static ADAPTER: LazyLock<WeChatPadProAdapter> =
    LazyLock::new(|| WeChatPadProAdapter::new(&[Secret::new("fuzz")]).expect("a secret"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
});
