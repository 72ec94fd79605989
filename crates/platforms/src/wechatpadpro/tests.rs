use super::*;
use crate::Verified;
use crate::test_support::{parse_event, parse_ignored, parts};

const TEXT: &str = include_str!("../../../../tests/fixtures/wechatpadpro/text.json");
const GROUP: &str = include_str!("../../../../tests/fixtures/wechatpadpro/group_text.json");
const LINK: &str = include_str!("../../../../tests/fixtures/wechatpadpro/link.json");

fn adapter() -> WeChatPadProAdapter {
    WeChatPadProAdapter::new(&Secret::list("your_secret_key")).expect("a secret")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

fn sign(secret: &str, timestamp: &str, separator: &str, body: &str) -> String {
    let tag = HmacKeys::new([secret])
        .sign(&[timestamp.as_bytes(), separator.as_bytes(), body.as_bytes()])
        .expect("a key");
    hex::encode(tag)
}

fn verify(
    adapter: &WeChatPadProAdapter,
    timestamp: &str,
    signature: &str,
    body: &str,
) -> Result<(), Rejection> {
    adapter.verify(
        &parts(
            "/webhooks/wechatpadpro",
            &[
                ("X-Webhook-Timestamp", timestamp),
                ("X-Webhook-Signature", signature),
            ],
        ),
        body.as_bytes(),
    )
}

#[test]
fn both_signing_variants_verify_when_selected() {
    let ts = now().to_string();
    let colon = sign("your_secret_key", &ts, ":", TEXT);
    let concat = sign("your_secret_key", &ts, "", TEXT);

    let default = adapter();
    assert!(verify(&default, &ts, &colon, TEXT).is_ok());
    assert_eq!(
        verify(&default, &ts, &concat, TEXT).unwrap_err().code,
        "invalid_signature"
    );

    let concat_channel = adapter().with_signing(Signing::Concat);
    assert!(verify(&concat_channel, &ts, &concat, TEXT).is_ok());
    assert_eq!(
        verify(&concat_channel, &ts, &colon, TEXT).unwrap_err().code,
        "invalid_signature"
    );

    // Upper-case hex is the same tag.
    assert!(verify(&default, &ts, &colon.to_uppercase(), TEXT).is_ok());
    // The signature binds the timestamp: another second, another tag.
    let next = (now() + 1).to_string();
    assert!(verify(&default, &next, &colon, TEXT).is_err());
}

#[test]
fn timestamps_outside_the_window_are_401() {
    let adapter = adapter();
    for ts in [now() - 301, now() + 301, 0] {
        let ts = ts.to_string();
        let signature = sign("your_secret_key", &ts, ":", TEXT);
        let rejection = verify(&adapter, &ts, &signature, TEXT).unwrap_err();
        assert_eq!(
            (rejection.status, rejection.code),
            (StatusCode::UNAUTHORIZED, "stale_timestamp")
        );
    }
    let edge = (now() - 250).to_string();
    assert!(
        verify(
            &adapter,
            &edge,
            &sign("your_secret_key", &edge, ":", TEXT),
            TEXT
        )
        .is_ok()
    );

    let narrow = WeChatPadProAdapter::new(&Secret::list("your_secret_key"))
        .expect("a secret")
        .with_window(Duration::from_secs(10));
    let old = (now() - 60).to_string();
    assert!(
        verify(
            &narrow,
            &old,
            &sign("your_secret_key", &old, ":", TEXT),
            TEXT
        )
        .is_err()
    );

    // Milliseconds are not seconds: far outside the window.
    let millis = (now() * 1000).to_string();
    assert_eq!(
        verify(
            &adapter,
            &millis,
            &sign("your_secret_key", &millis, ":", TEXT),
            TEXT
        )
        .unwrap_err()
        .code,
        "stale_timestamp"
    );
}

#[test]
fn missing_or_malformed_headers_are_401() {
    let adapter = adapter();
    let body = TEXT.as_bytes();
    let ts = now().to_string();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("X-Webhook-Signature", "00")], "missing_timestamp"),
        (
            &[
                ("X-Webhook-Timestamp", "soon"),
                ("X-Webhook-Signature", "00"),
            ],
            "invalid_timestamp",
        ),
        (&[("X-Webhook-Timestamp", &ts)], "missing_signature"),
        (
            &[
                ("X-Webhook-Timestamp", &ts),
                ("X-Webhook-Signature", "not hex"),
            ],
            "invalid_signature",
        ),
    ];
    for (headers, code) in cases {
        let rejection = adapter.verify(&parts("/", headers), body).unwrap_err();
        assert_eq!(
            (rejection.status, rejection.code),
            (StatusCode::UNAUTHORIZED, code)
        );
    }
}

#[test]
fn seed_text_message_parses() {
    let inbound = parse_event(&adapter(), TEXT);
    assert_eq!(inbound.delivery_id, "7654321098765432123");
    assert_eq!(inbound.conversation, "wxid_sender12345");
    assert_eq!(inbound.event.text(), Some("你好，這是一條測試訊息"));
    assert_eq!(
        inbound.event.sender().expect("sender").id,
        "wxid_sender12345"
    );
}

#[test]
fn group_messages_belong_to_the_group_and_name_the_member() {
    let inbound = parse_event(&adapter(), GROUP);
    assert_eq!(inbound.conversation, "12345678901@chatroom");
    assert_eq!(inbound.event.sender().expect("sender").id, "wxid_member999");
    assert_eq!(inbound.event.text(), Some("大家好"));
}

#[test]
fn links_system_notices_and_recalls() {
    let link = parse_event(&adapter(), LINK);
    assert_eq!(
        link.delivery_id, "7654321098765432125",
        "numeric ids are read as text"
    );
    let message = link.event.message().expect("a message");
    assert_eq!(message.message_type, MessageType::Url);
    let content: Value = serde_json::from_str(&message.body).expect("the object as JSON");
    assert_eq!(content["url"], "https://example.com/botwire");

    let system = TEXT.replace("\"msgType\": 1", "\"msgType\": 10000");
    assert_eq!(
        parse_event(&adapter(), &system).event.kind(),
        &EventKind::Other("system".into())
    );
    let recall = TEXT.replace("\"msgType\": 1", "\"msgType\": \"10002\"");
    assert_eq!(
        parse_event(&adapter(), &recall).event.kind(),
        &EventKind::Other("recall".into())
    );
    let unknown = TEXT.replace("\"msgType\": 1", "\"msgType\": 42");
    let message = parse_event(&adapter(), &unknown)
        .event
        .message()
        .cloned()
        .expect("a message");
    assert_eq!(message.message_type, MessageType::Other("42".into()));
}

#[test]
fn receiver_side_filters() {
    let own = TEXT.replace("\"isSelfMsg\": false", "\"isSelfMsg\": true");
    assert_eq!(parse_ignored(&adapter(), &own), "the account's own message");
    let included = parse_event(&adapter().with_self_messages(true), &own);
    // The account's own message belongs to the chat it was sent to.
    assert_eq!(included.conversation, "wxid_receiver12345");

    let history = TEXT.replace("\"isHistory\": false", "\"isHistory\": true");
    assert_eq!(parse_ignored(&adapter(), &history), "a history message");
    assert!(matches!(
        adapter()
            .with_history(true)
            .parse(Verified::stored(Bytes::from(history))),
        Ok(Parsed::Event(_))
    ));

    let images_only = adapter().with_message_types([msg_type::IMAGE]);
    assert_eq!(parse_ignored(&images_only, TEXT), "a filtered message type");
    let text_and_links = adapter().with_message_types([msg_type::TEXT, msg_type::LINK]);
    assert!(matches!(
        text_and_links.parse(Verified::stored(Bytes::from_static(LINK.as_bytes()))),
        Ok(Parsed::Event(_))
    ));
}

#[test]
fn malformed_bodies_are_400_in_the_gateways_error_shape() {
    let adapter = adapter();
    for (body, message) in [
        (r#"{"fromUser":"a"}"#, "missing field `msgId`"),
        (r#"{"msgId":"","fromUser":"a"}"#, "missing field `msgId`"),
        (r#"{"msgId":"1"}"#, "missing field `fromUser`"),
        (
            r#"{"msgId":"1","fromUser":"a","msgType":"text"}"#,
            "field `msgType` has the wrong type",
        ),
    ] {
        let rejection = adapter
            .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap_err();
        assert_eq!(rejection.message, message, "{body}");
        let (status, shaped) = adapter.refuse(&rejection, true);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let shaped: Value = serde_json::from_slice(&shaped).expect("json");
        assert_eq!(shaped["status"], "error");
        assert_eq!(shaped["message"], message);
    }
    assert_eq!(
        adapter
            .parse(Verified::stored(Bytes::from_static(b"nope")))
            .unwrap_err()
            .code,
        "not_json"
    );
    assert_eq!(&adapter.no_op()[..], ACK);
}

#[test]
fn configure_reads_every_setting() {
    assert!(
        WeChatPadPro
            .configure(&ChannelSettings::new("wechatpadpro"))
            .expect("valid")
            .is_none()
    );
    let settings = ChannelSettings::new("wechatpadpro")
        .with("secret", "s")
        .with("signing", "concat")
        .with("window", "60s")
        .with("message_types", "1, 49")
        .with("include_self", "true")
        .with("include_history", "no")
        .with("deadline", "3s");
    let adapter = WeChatPadPro
        .configure(&settings)
        .expect("valid")
        .expect("mounted");
    assert_eq!(adapter.mode(), Mode::ViaApi);
    assert_eq!(adapter.deadline(), Duration::from_secs(3));
    let ts = now().to_string();
    let signature = sign("s", &ts, "", TEXT);
    assert!(
        adapter
            .verify(
                &parts(
                    "/",
                    &[
                        ("x-webhook-timestamp", &ts),
                        ("x-webhook-signature", &signature)
                    ]
                ),
                TEXT.as_bytes()
            )
            .is_ok()
    );
    let own_text = TEXT.replace("\"isSelfMsg\": false", "\"isSelfMsg\": true");
    assert!(matches!(
        adapter.parse(Verified::stored(Bytes::from(own_text))),
        Ok(Parsed::Event(_))
    ));

    for (key, value) in [
        ("signing", "sha1"),
        ("message_types", "text"),
        ("window", "0s"),
        ("include_self", "maybe"),
    ] {
        let bad = ChannelSettings::new("wechatpadpro")
            .with("secret", "s")
            .with(key, value);
        let error = WeChatPadPro.configure(&bad).unwrap_err().to_string();
        assert!(error.contains(key), "{error}");
    }
}
