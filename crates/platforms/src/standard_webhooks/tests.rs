use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_core::EventKind;
use bytes::Bytes;

use super::*;
use crate::auth::Secret;
use crate::test_support::{configure, parts};
use crate::{Adapter, Inbound, Parsed, Verified};

const THIN: &str =
    include_str!("../../../../tests/fixtures/standard_webhooks/contact_created.json");
const FULL: &str =
    include_str!("../../../../tests/fixtures/standard_webhooks/contact_created_full.json");
const EXAMPLE: &str =
    include_str!("../../../../tests/fixtures/standard_webhooks/example_event.json");

/// The reference libraries' shared vector's secret.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The specification's own example message id.
const MSG_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

fn secret() -> WebhookSecret {
    WebhookSecret::parse(&Secret::new(SECRET)).expect("a secret")
}

fn adapter() -> StandardWebhooksAdapter {
    StandardWebhooksAdapter::new(secret())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A request signed with `SECRET` at `timestamp`.
fn signed(id: &str, timestamp: u64, body: &str) -> http::request::Parts {
    let signature = secret().sign(id, timestamp, body.as_bytes());
    parts(
        "/webhooks/standard_webhooks",
        &[
            (ID_HEADER, id),
            (TIMESTAMP_HEADER, &timestamp.to_string()),
            (SIGNATURE_HEADER, &signature),
        ],
    )
}

/// Verifies and parses as the server does.
fn receive(adapter: &StandardWebhooksAdapter, id: &str, body: &str) -> Inbound {
    let request = signed(id, now(), body);
    let verified = Verified::check(adapter, &request, Bytes::copy_from_slice(body.as_bytes()))
        .expect("verifies");
    match adapter.parse(verified).expect("parses") {
        Parsed::Event(inbound) => *inbound,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn the_specifications_payloads_reach_the_handler_by_type() {
    for (body, kind) in [
        (THIN, "contact.created"),
        (FULL, "contact.created"),
        (EXAMPLE, "example.event"),
    ] {
        let inbound = receive(&adapter(), MSG_ID, body);
        assert_eq!(inbound.delivery_id, MSG_ID);
        assert_eq!(inbound.conversation, DEFAULT_CONVERSATION);
        assert_eq!(inbound.event.kind(), &EventKind::Other(kind.into()));
        assert_eq!(inbound.event.raw_payload(), body.as_bytes());
        assert!(inbound.event.sender().is_none());
    }
}

#[test]
fn the_delivery_id_survives_being_queued() {
    let request = signed(MSG_ID, now(), THIN);
    let verified = Verified::check(&adapter(), &request, Bytes::from_static(THIN.as_bytes()))
        .expect("verifies");
    let again = Verified::stored(verified.to_stored());
    match adapter().parse(again).expect("parses") {
        Parsed::Event(inbound) => assert_eq!(inbound.delivery_id, MSG_ID),
        other => panic!("expected an event, got {other:?}"),
    }
    // A bare body has no id to deduplicate by: refused, not given a made-up one.
    let bare = adapter()
        .parse(Verified::stored(Bytes::from_static(THIN.as_bytes())))
        .expect_err("no webhook-id");
    assert_eq!((bare.status.as_u16(), bare.code), (400, "missing_id"));
}

#[test]
fn the_conversation_can_come_from_the_payload() {
    let by_contact = adapter().with_conversation_at("/data/id");
    let inbound = receive(&by_contact, MSG_ID, THIN);
    assert_eq!(inbound.conversation, "1f81eb52-5198-4599-803e-771906343485");
    let by_number = adapter().with_conversation_at("/data/fizzbuzz");
    assert_eq!(receive(&by_number, MSG_ID, EXAMPLE).conversation, "2");

    for (pointer, message) in [
        (
            "/data/missing",
            "missing field `/data/missing` (the conversation)",
        ),
        (
            "/data",
            "field `/data` (the conversation) is not a string or number",
        ),
    ] {
        let adapter = adapter().with_conversation_at(pointer);
        let request = signed(MSG_ID, now(), THIN);
        let verified = Verified::check(&adapter, &request, Bytes::from_static(THIN.as_bytes()))
            .expect("verifies");
        let refused = adapter.parse(verified).expect_err("refused");
        assert_eq!(
            (refused.status.as_u16(), refused.code),
            (400, "invalid_field")
        );
        assert_eq!(refused.message, message);
    }
}

#[test]
fn payloads_that_are_not_events_are_400_without_echoing() {
    for (body, code) in [
        ("not json", "not_json"),
        ("[1,2]", "invalid_field"),
        ("42", "invalid_field"),
        (r#"{"type":["s3cr3t"]}"#, "invalid_field"),
        (r#"{"type":""}"#, "invalid_field"),
    ] {
        let request = signed(MSG_ID, now(), body);
        let verified = Verified::check(
            &adapter(),
            &request,
            Bytes::copy_from_slice(body.as_bytes()),
        )
        .expect("verifies");
        let refused = adapter().parse(verified).expect_err(body);
        assert_eq!(
            (refused.status.as_u16(), refused.code),
            (400, code),
            "{body}"
        );
        assert!(!refused.message.contains("s3cr3t"));
    }
    // No type is a sender that signs by the standard but shapes its own payloads.
    let untyped = receive(&adapter(), MSG_ID, r#"{"data":{}}"#);
    assert_eq!(untyped.event.kind(), &EventKind::Other("webhook".into()));
}

#[test]
fn verification_refuses_what_the_standard_refuses() {
    let check = |request: &http::request::Parts, body: &str| {
        adapter()
            .verify(request, body.as_bytes())
            .map_err(|r| (r.status.as_u16(), r.code))
    };
    let t = now();
    assert_eq!(check(&signed(MSG_ID, t, THIN), THIN), Ok(()));
    // Six minutes either way is outside the ±5 minutes.
    for off in [t - 360, t + 360] {
        assert_eq!(
            check(&signed(MSG_ID, off, THIN), THIN),
            Err((401, "stale_timestamp"))
        );
    }
    assert_eq!(check(&signed(MSG_ID, t - 290, THIN), THIN), Ok(()));
    // One byte changed in the body, or a different id than was signed.
    let changed = THIN.replacen("contact", "Contact", 1);
    assert_eq!(
        check(&signed(MSG_ID, t, THIN), &changed),
        Err((401, "invalid_signature"))
    );
    let mut other_id = signed(MSG_ID, t, THIN);
    other_id
        .headers
        .insert(ID_HEADER, "msg_other".parse().expect("value"));
    assert_eq!(check(&other_id, THIN), Err((401, "invalid_signature")));

    for (missing, code) in [
        (ID_HEADER, "missing_id"),
        (TIMESTAMP_HEADER, "invalid_timestamp"),
        (SIGNATURE_HEADER, "missing_signature"),
    ] {
        let mut request = signed(MSG_ID, t, THIN);
        request.headers.remove(missing);
        assert_eq!(check(&request, THIN), Err((401, code)), "{missing}");
    }
    let mut twice = signed(MSG_ID, t, THIN);
    twice
        .headers
        .append(ID_HEADER, "msg_other".parse().expect("value"));
    assert_eq!(check(&twice, THIN), Err((401, "invalid_signature")));
}

#[test]
fn the_tolerance_is_a_setting() {
    let wide = adapter().with_tolerance(Duration::from_secs(600));
    let request = signed(MSG_ID, now() - 360, THIN);
    assert_eq!(wide.verify(&request, THIN.as_bytes()), Ok(()));
}

#[test]
fn settings_build_the_channel_and_name_what_is_wrong() {
    let configure = |pairs: &[(&str, &str)]| configure(&StandardWebhooks, pairs);
    assert!(
        configure(&[]).expect("no error").is_none(),
        "no secret, no channel"
    );
    let adapter = configure(&[
        ("secret", SECRET),
        ("tolerance", "10m"),
        ("conversation", "/data/id"),
        ("deadline", "20s"),
    ])
    .expect("valid")
    .expect("mounted");
    assert_eq!(adapter.platform(), ID);
    assert_eq!(adapter.deadline(), Duration::from_secs(20));
    assert_eq!(adapter.kept_headers(), [ID_HEADER]);

    for (pairs, key) in [
        (vec![("secret", "whsec_!!not base64")], "secret"),
        (
            vec![("secret", SECRET), ("conversation", "data.id")],
            "conversation",
        ),
        (vec![("secret", SECRET), ("tolerance", "soon")], "tolerance"),
        (vec![("secret", SECRET), ("api_key", "x")], "api_key"),
    ] {
        let error = configure(&pairs).expect_err(key).to_string();
        assert!(error.contains(key), "{error}");
        assert!(
            !error.contains("MfKQ9r8"),
            "the secret never prints: {error}"
        );
    }
}
