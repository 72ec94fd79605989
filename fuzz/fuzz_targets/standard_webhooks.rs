#![no_main]
//! Standard Webhooks: verification over the fuzzed headers, then the parser over a body that
//! really is signed (the id from the input), as a verified sender would send it.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use botwire_platforms::auth::Secret;
use botwire_platforms::standard_webhooks::{
    ID_HEADER, SIGNATURE_HEADER, StandardWebhooksAdapter, TIMESTAMP_HEADER, WebhookSecret,
};
use botwire_platforms::{Adapter, Verified};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

static SIGNER: LazyLock<WebhookSecret> =
    LazyLock::new(|| WebhookSecret::parse(&Secret::new(SECRET)).expect("a secret"));
static ADAPTER: LazyLock<StandardWebhooksAdapter> =
    LazyLock::new(|| StandardWebhooksAdapter::new(SIGNER.clone()).with_conversation_at("/data/id"));

fuzz_target!(|data: &[u8]| {
    botwire_fuzz::verify_and_parse(&*ADAPTER, SIGNATURE_HEADER, data);
    // The same body signed for real under an id from the input: parse sees the kept header.
    let (body, id) = match data.iter().rposition(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"msg_fuzz"[..]),
    };
    let Ok(id) = std::str::from_utf8(id) else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let signature = SIGNER.sign(id, now, body);
    let Ok(request) = http::Request::post("/w")
        .header(ID_HEADER, id)
        .header(TIMESTAMP_HEADER, now)
        .header(SIGNATURE_HEADER, signature)
        .body(())
    else {
        return;
    };
    let (parts, ()) = request.into_parts();
    if let Ok(verified) = Verified::check(&*ADAPTER, &parts, Bytes::copy_from_slice(body)) {
        let stored = Verified::stored(verified.to_stored());
        let _ = ADAPTER.parse(verified);
        let _ = ADAPTER.parse(stored);
    }
});
