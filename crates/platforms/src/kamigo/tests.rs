use super::*;
use crate::Verified;
use crate::test_support::{parse_event, parse_ignored, parts};

const MESSAGE: &str = include_str!("../../../../tests/fixtures/kamigo/message_received.json");
const JOINED: &str = include_str!("../../../../tests/fixtures/kamigo/member_joined.json");
const LEFT: &str = include_str!("../../../../tests/fixtures/kamigo/member_left.json");
const FILE: &str = include_str!("../../../../tests/fixtures/kamigo/file_uploaded.json");

fn adapter() -> KamigoAdapter {
    KamigoAdapter::new(&Secret::list("s3cret")).expect("has a secret")
}

fn signature(secret: &str, body: &[u8]) -> String {
    let tag = HmacKeys::new([secret]).sign(&[body]).expect("a key");
    format!("sha256={}", hex::encode(tag))
}

#[test]
fn seed_message_parses() {
    let inbound = parse_event(&adapter(), MESSAGE);
    assert_eq!(inbound.delivery_id, "message.received:msg_001");
    assert_eq!(inbound.conversation, "C1234567890");
    assert_eq!(inbound.state, None);
    assert_eq!(inbound.event.text(), Some("大家早安!"));
    let sender = inbound.event.sender().expect("a sender");
    assert_eq!(
        (sender.id.as_str(), sender.name()),
        ("U1234567890", "王小明")
    );
}

#[test]
fn member_events_parse_and_are_told_apart_by_time() {
    let joined = parse_event(&adapter(), JOINED);
    assert_eq!(joined.event.joined()[0].name(), "李小華");
    assert_eq!(
        joined.delivery_id,
        "member.joined:C1234567890:U0987654321:2025-01-15T08:30:00Z"
    );
    let left = parse_event(&adapter(), LEFT);
    assert_eq!(left.event.left()[0].id, "U0987654321");
    assert_ne!(left.delivery_id, joined.delivery_id);

    let later = JOINED.replace("08:30:00Z", "09:00:00Z");
    assert_ne!(
        parse_event(&adapter(), &later).delivery_id,
        joined.delivery_id
    );
}

#[test]
fn a_file_is_a_file_message() {
    let inbound = parse_event(&adapter(), FILE);
    let message = inbound.event.message().expect("a message");
    assert_eq!(message.message_type, MessageType::File);
    assert_eq!(message.body, "image");
    assert_eq!(inbound.event.text(), None);
    assert_eq!(inbound.delivery_id, "file.uploaded:msg_002");
    let payload: serde_json::Value = inbound.event.payload().expect("json");
    assert_eq!(payload["data"]["fileSize"], 102400);
}

#[test]
fn unknown_events_are_kept_or_acknowledged_never_failed() {
    let other = parse_event(
        &adapter(),
        r#"{"event":"poll.created","timestamp":"t","data":{"channelId":"C1"}}"#,
    );
    assert_eq!(other.event.kind(), &EventKind::Other("poll.created".into()));
    assert_eq!(other.delivery_id, "poll.created:C1::t");
    // A test delivery without a channel is acknowledged, not refused.
    assert_eq!(
        parse_ignored(&adapter(), r#"{"event":"test"}"#),
        "an event without a channelId"
    );
}

#[test]
fn known_events_missing_fields_are_400() {
    for (body, field) in [
        (
            r#"{"event":"message.received","data":{"channelId":"C1"}}"#,
            "data.messageId",
        ),
        (
            r#"{"event":"member.joined","data":{"channelId":"C1"}}"#,
            "data.member",
        ),
        (r#"{"data":{}}"#, "event"),
    ] {
        let rejection = adapter()
            .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
            .expect_err(body);
        assert_eq!(rejection.status, http::StatusCode::BAD_REQUEST);
        assert_eq!(
            rejection.message,
            format!("missing field `{field}`"),
            "{body}"
        );
    }
    let rejection = adapter()
        .parse(Verified::stored(Bytes::from_static(b"OK")))
        .unwrap_err();
    assert_eq!(rejection.code, "not_json");
}

#[test]
fn signature_is_an_hmac_of_the_raw_body() {
    let adapter = adapter();
    let body = MESSAGE.as_bytes();
    let good = signature("s3cret", body);
    assert!(
        adapter
            .verify(&parts("/", &[("X-Webhook-Signature", &good)]), body)
            .is_ok()
    );

    // Re-serialising the body (what the seed's sample does) changes the bytes: refused.
    let reserialized =
        serde_json::to_vec(&serde_json::from_str::<serde_json::Value>(MESSAGE).expect("json"))
            .expect("json");
    let refused = adapter
        .verify(
            &parts("/", &[("X-Webhook-Signature", &good)]),
            &reserialized,
        )
        .unwrap_err();
    assert_eq!(refused.code, "invalid_signature");

    for (headers, code) in [
        (vec![], "missing_signature"),
        (
            vec![("X-Webhook-Signature", signature("other", body))],
            "invalid_signature",
        ),
        (
            vec![(
                "X-Webhook-Signature",
                good.trim_start_matches("sha256=").to_owned(),
            )],
            "invalid_signature",
        ),
        (
            vec![("X-Webhook-Signature", "sha256=zz".to_owned())],
            "invalid_signature",
        ),
        (
            vec![
                ("X-Webhook-Signature", good.clone()),
                ("X-Webhook-Signature", good.clone()),
            ],
            "invalid_signature",
        ),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let rejection = adapter.verify(&parts("/", &headers), body).unwrap_err();
        assert_eq!(rejection.status, http::StatusCode::UNAUTHORIZED);
        assert_eq!(rejection.code, code, "{headers:?}");
    }
}

#[test]
fn rotated_secrets_all_verify() {
    let adapter = KamigoAdapter::new(&Secret::list("old,new")).expect("secrets");
    for secret in ["old", "new"] {
        let sig = signature(secret, b"{}");
        assert!(
            adapter
                .verify(&parts("/", &[("x-webhook-signature", &sig)]), b"{}")
                .is_ok()
        );
    }
}

#[test]
fn configure_mounts_only_with_a_secret() {
    let settings = ChannelSettings::new("kamigo");
    assert!(Kamigo.configure(&settings).expect("valid").is_none());
    let settings = ChannelSettings::new("kamigo")
        .with("secret", "s")
        .with("deadline", "10s");
    let adapter = Kamigo
        .configure(&settings)
        .expect("valid")
        .expect("mounted");
    assert_eq!(adapter.mode(), Mode::ViaApi);
    assert_eq!(adapter.deadline(), Duration::from_secs(10));
    assert_eq!(&adapter.no_op()[..], ACK);
    let typo = ChannelSettings::new("kamigo").with("secrte", "s");
    assert!(
        Kamigo
            .configure(&typo)
            .unwrap_err()
            .to_string()
            .contains("secrte")
    );
    let zero = ChannelSettings::new("kamigo")
        .with("secret", "s")
        .with("deadline", "0s");
    assert!(Kamigo.configure(&zero).is_err());
}
