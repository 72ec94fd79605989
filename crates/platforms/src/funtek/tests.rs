use super::*;
use crate::Verified;
use crate::test_support::{parse_event, parts};
use botwire_core::{MessageType, OutMessage};

const MESSAGE: &str = include_str!("../../../../tests/fixtures/funtek/message.json");
const JOIN_ROOM: &str = include_str!("../../../../tests/fixtures/funtek/join_room.json");
const ADD_MEMBERS: &str = include_str!("../../../../tests/fixtures/funtek/add_members.json");
const DELETE_MEMBERS: &str = include_str!("../../../../tests/fixtures/funtek/delete_members.json");

fn adapter() -> FuntekAdapter {
    FuntekAdapter::builder()
        .token("t0k3n")
        .build()
        .expect("has a token")
}

fn inbound(body: &str) -> Inbound {
    parse_event(&adapter(), body)
}

#[test]
fn message_fixture_parses() {
    let inbound = inbound(MESSAGE);
    assert_eq!(inbound.delivery_id, "5c1ddf2d1536bbb6c49f7cfe");
    assert_eq!(inbound.conversation, "demo-room");
    assert_eq!(inbound.state, None);
    assert_eq!(inbound.remember_for, None);
    assert_eq!(inbound.event.text(), Some("Bonjour 2"));
    let sender = inbound.event.sender().expect("has a sender");
    assert_eq!(
        (sender.id.as_str(), sender.name(), sender.is_bot),
        ("sss", "Desirae", false)
    );
    assert_eq!(inbound.event.raw_payload(), MESSAGE.as_bytes());
}

#[test]
fn member_events_parse_with_a_body_digest_id() {
    let join = inbound(JOIN_ROOM);
    assert_eq!(join.event.joined().len(), 1);
    assert_eq!(join.event.joined()[0].name(), "Desirae");
    assert_eq!(
        join.delivery_id,
        hex::encode(Sha256::digest(JOIN_ROOM.as_bytes()))
    );
    assert_eq!(join.remember_for, Some(MEMBER_EVENT_WINDOW));

    let added = inbound(ADD_MEMBERS);
    assert_eq!(added.event.joined()[0].id, "robot001");
    assert!(added.event.joined()[0].is_bot);

    let deleted = inbound(DELETE_MEMBERS);
    assert_eq!(deleted.event.left()[0].name(), "Aurora");
    assert_ne!(deleted.delivery_id, added.delivery_id);
}

#[test]
fn optional_fields_are_tolerated() {
    let minimal = inbound(r#"{"roomID":"r","event":"MESSAGE","data":{"id":"m1","message":"hi"}}"#);
    assert_eq!(minimal.delivery_id, "m1");
    assert_eq!(minimal.event.text(), Some("hi"));
    assert!(minimal.event.sender().is_none());

    let with_state = inbound(
        r#"{"appID":"a","clientID":"c","roomID":"r","event":"MESSAGE","botState":"teaching","data":{"_id":"m1","message":"hi","messageType":"text"}}"#,
    );
    assert_eq!(with_state.state.as_deref(), Some("teaching"));

    let empty_state = inbound(
        r#"{"roomID":"r","event":"MESSAGE","botState":"","data":{"_id":"m1","message":"hi"}}"#,
    );
    assert_eq!(empty_state.state, None);

    let null_state = inbound(
        r#"{"roomID":"r","event":"MESSAGE","botState":null,"data":{"_id":"m1","message":"x"}}"#,
    );
    assert_eq!(null_state.state, None);

    // The room may come only inside data.
    let data_room =
        inbound(r#"{"event":"JOIN_ROOM","data":{"room":"r2","sender":{"id":"u","nickname":"U"}}}"#);
    assert_eq!(data_room.conversation, "r2");
    assert_eq!(data_room.event.joined()[0].name(), "U");
}

#[test]
fn a_message_without_content_is_no_text() {
    for body in [
        r#"{"roomID":"r","event":"MESSAGE","data":{"_id":"m"}}"#,
        r#"{"roomID":"r","event":"MESSAGE","data":{"_id":"m","message":null,"messageType":"text"}}"#,
        r#"{"roomID":"r","event":"MESSAGE","data":{"_id":"m","messageType":"image"}}"#,
    ] {
        let delivery = inbound(body);
        assert!(
            delivery.event.message().is_some(),
            "still a message: {body}"
        );
        assert_eq!(delivery.event.text(), None, "nothing to echo: {body}");
    }
}

#[test]
fn other_message_types_and_events_are_kept() {
    let image = inbound(
        r#"{"roomID":"r","event":"MESSAGE","data":{"_id":"m","message":"https://x/y.png","messageType":"image"}}"#,
    );
    let message = image.event.message().expect("a message");
    assert_eq!(message.message_type, MessageType::Image);
    assert_eq!(image.event.text(), None);

    let location = inbound(
        r#"{"roomID":"r","event":"MESSAGE","data":{"_id":"m","message":{"lat":1},"messageType":"location"}}"#,
    );
    assert_eq!(
        location.event.message().expect("a message").body,
        r#"{"lat":1}"#
    );

    let custom = inbound(r#"{"roomID":"r","event":"ROOM_UPDATED","data":{}}"#);
    assert_eq!(
        custom.event.kind(),
        &EventKind::Other("ROOM_UPDATED".into())
    );
    assert_eq!(custom.remember_for, Some(MEMBER_EVENT_WINDOW));
}

#[test]
fn malformed_bodies_are_400_naming_the_field() {
    let cases = [
        ("not json", "not_json", "the body is not valid JSON"),
        ("", "not_json", "the body is not valid JSON"),
        (
            r#"{"roomID":"r","data":{}}"#,
            "invalid_field",
            "missing field `event`",
        ),
        (
            r#"{"event":"MESSAGE","data":{"_id":"m"}}"#,
            "invalid_field",
            "missing field `roomID`",
        ),
        (
            r#"{"roomID":"r","event":"MESSAGE","data":{"message":"x"}}"#,
            "invalid_field",
            "missing field `data._id`",
        ),
        (
            r#"{"roomID":"r","event":7,"data":{}}"#,
            "invalid_field",
            "field `event` has the wrong type",
        ),
        (
            r#"{"roomID":"r","event":"MESSAGE","data":{"_id":5}}"#,
            "invalid_field",
            "field `data._id` has the wrong type",
        ),
        (
            r#"[1,2]"#,
            "invalid_field",
            "the body must be a JSON object",
        ),
        (
            r#""text""#,
            "invalid_field",
            "the body must be a JSON object",
        ),
    ];
    for (body, code, message) in cases {
        let err = adapter()
            .parse(Verified::stored(Bytes::from(body)))
            .unwrap_err();
        assert_eq!(
            (err.status, err.code, &*err.message),
            (http::StatusCode::BAD_REQUEST, code, message),
            "{body}"
        );
    }
}

#[test]
fn token_in_query_or_bearer_header() {
    let a = adapter();
    assert!(a.verify(&parts("/w?token=t0k3n", &[]), b"{}").is_ok());
    assert!(a.verify(&parts("/w?x=1&token=t0k3n", &[]), b"{}").is_ok());
    assert!(
        a.verify(&parts("/w", &[("authorization", "Bearer t0k3n")]), b"{}")
            .is_ok()
    );
    assert!(
        a.verify(&parts("/w", &[("authorization", "bearer t0k3n")]), b"{}")
            .is_ok()
    );

    let code = |uri: &str, headers: &[(&str, &str)]| {
        a.verify(&parts(uri, headers), b"{}").unwrap_err().code
    };
    assert_eq!(code("/w", &[]), "missing_token");
    assert_eq!(code("/w?token=wrong", &[]), "invalid_token");
    assert_eq!(code("/w?token=T0K3N", &[]), "invalid_token");
    assert_eq!(code("/w?token=", &[]), "invalid_token");
    assert_eq!(code("/w?token=t0k3n&token=t0k3n", &[]), "invalid_token");
    assert_eq!(
        code("/w", &[("authorization", "Basic t0k3n")]),
        "invalid_token"
    );
    assert_eq!(
        code("/w", &[("authorization", "Bearer  t0k3n")]),
        "invalid_token"
    );
    assert_eq!(code("/w", &[("authorization", "Bearer")]), "invalid_token");
    // The query wins over the header.
    assert_eq!(
        code("/w?token=bad", &[("authorization", "Bearer t0k3n")]),
        "invalid_token"
    );
    let rejection = a.verify(&parts("/w", &[]), b"{}").unwrap_err();
    assert_eq!(rejection.status, http::StatusCode::UNAUTHORIZED);
}

#[test]
fn rotated_tokens_all_verify() {
    let a = FuntekAdapter::builder()
        .tokens(Secret::list("old,new"))
        .build()
        .expect("tokens");
    assert!(a.verify(&parts("/w?token=old", &[]), b"{}").is_ok());
    assert!(a.verify(&parts("/w?token=new", &[]), b"{}").is_ok());
}

#[test]
fn optional_hmac_header_is_checked_over_the_raw_body() {
    let a = FuntekAdapter::builder()
        .signing_secret("s3")
        .build()
        .expect("secret");
    let body = MESSAGE.as_bytes();
    let tag = HmacKeys::new([b"s3"]).sign(&[body]).expect("key");
    let good = format!("sha256={}", hex::encode(tag));
    assert!(
        a.verify(&parts("/w", &[("x-webhook-signature", &good)]), body)
            .is_ok()
    );
    let upper = format!("sha256={}", hex::encode_upper(tag));
    assert!(
        a.verify(&parts("/w", &[("x-webhook-signature", &upper)]), body)
            .is_ok()
    );

    let code = |sig: &str, body: &[u8]| {
        a.verify(&parts("/w", &[("x-webhook-signature", sig)]), body)
            .unwrap_err()
            .code
    };
    assert_eq!(code(&good, b"{}"), "invalid_signature");
    assert_eq!(code(&hex::encode(tag), body), "invalid_signature");
    assert_eq!(code("sha256=zz", body), "invalid_signature");
    assert_eq!(code(&good[..good.len() - 2], body), "invalid_signature");
    assert_eq!(
        a.verify(&parts("/w", &[]), body).unwrap_err().code,
        "missing_signature"
    );

    // Token and signature together: both must hold.
    let both = FuntekAdapter::builder()
        .token("t")
        .signing_secret("s3")
        .build()
        .expect("both");
    assert!(
        both.verify(
            &parts("/w?token=t", &[("x-webhook-signature", &good)]),
            body
        )
        .is_ok()
    );
    assert_eq!(
        both.verify(&parts("/w?token=t", &[]), body)
            .unwrap_err()
            .code,
        "missing_signature"
    );
    assert_eq!(
        both.verify(&parts("/w", &[("x-webhook-signature", &good)]), body)
            .unwrap_err()
            .code,
        "missing_token"
    );
}

#[test]
fn insecure_mode_must_be_explicit() {
    assert_eq!(
        FuntekAdapter::builder().build().unwrap_err(),
        Unauthenticated
    );
    let open = FuntekAdapter::builder()
        .insecure(true)
        .build()
        .expect("insecure");
    assert!(open.verify(&parts("/w", &[]), b"anything").is_ok());
}

#[test]
fn renders_the_funtek_reply_shape() {
    let a = adapter();
    assert_eq!(
        &a.render(&Reply::text("hi"), None)[..],
        br#"{"toBotState":null,"data":{"message":"hi","messageType":"text"}}"#
    );
    assert_eq!(
        &a.render(&Reply::text("hi").with_sender_id("robot001"), Some("active"))[..],
        br#"{"senderID":"robot001","toBotState":"active","data":{"message":"hi","messageType":"text"}}"#
    );
    assert_eq!(
        &a.render(&Reply::none(), Some("idle"))[..],
        br#"{"toBotState":"idle","data":null}"#
    );
    assert_eq!(&a.render(&Reply::none(), None)[..], NO_OP);
    assert_eq!(&a.no_op()[..], NO_OP);

    let custom = OutMessage::new("image", "https://x/y.png")
        .with_field("width", 64)
        .with_field("message", "ignored");
    assert_eq!(
        &a.render(&Reply::message(custom), None)[..],
        br#"{"toBotState":null,"data":{"message":"https://x/y.png","messageType":"image","width":64}}"#
    );

    let with_default_sender = FuntekAdapter::builder()
        .token("t")
        .sender_id("bot9")
        .build()
        .expect("token");
    assert_eq!(
        &with_default_sender.render(&Reply::text("x"), None)[..],
        br#"{"senderID":"bot9","toBotState":null,"data":{"message":"x","messageType":"text"}}"#
    );
    // No message: no sender either.
    assert_eq!(&with_default_sender.render(&Reply::none(), None)[..], NO_OP);
}

#[test]
fn configure_mounts_only_with_credentials() {
    let configure = |s: ChannelSettings| Funtek.configure(&s);
    assert!(
        configure(ChannelSettings::new("funtek"))
            .expect("valid")
            .is_none()
    );
    let mounted = configure(
        ChannelSettings::new("funtek")
            .with("token", "t")
            .with("deadline", "750ms"),
    )
    .expect("valid")
    .expect("mounted");
    assert_eq!(mounted.deadline(), Duration::from_millis(750));
    assert_eq!(mounted.platform(), "funtek");
    assert_eq!(mounted.mode(), Mode::InResponse);
    assert!(
        configure(ChannelSettings::new("funtek").with("insecure", "true"))
            .expect("valid")
            .is_some()
    );
    assert!(
        configure(ChannelSettings::new("funtek").with("secret", "s"))
            .expect("valid")
            .is_some()
    );

    let typo = configure(ChannelSettings::new("funtek").with("tokn", "t")).unwrap_err();
    assert_eq!(typo.origin, "funtek.tokn");
    let zero = configure(
        ChannelSettings::new("funtek")
            .with("token", "t")
            .with("deadline", "0s"),
    )
    .unwrap_err();
    assert_eq!(zero.problem, "must be longer than zero");
    assert!(
        configure(
            ChannelSettings::new("funtek")
                .with("token", "t")
                .with("deadline", "soon")
        )
        .is_err()
    );
}
