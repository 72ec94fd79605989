use super::*;
use crate::Verified;
use crate::test_support::{parse_event, parse_ignored, parts};

/// The public test vector (from the Ruby gem chatwork_webhook_verify).
const VECTOR_TOKEN: &str = "iY/hmitgwCBlc5DnjAZ8pyRG1HF0zFflfmKmtCDg1wk=";
const VECTOR_SIGNATURE: &str = "NTIUzbXiwLvM7C/MT3Kd75Lw1w2N5tyWtcEieKiqhY0=";
const VECTOR_BODY: &str = include_str!("../../../../tests/fixtures/chatwork/mention_to_me.json");
const CREATED: &str = include_str!("../../../../tests/fixtures/chatwork/message_created.json");
const UPDATED: &str = include_str!("../../../../tests/fixtures/chatwork/message_updated.json");

fn adapter() -> ChatworkAdapter {
    ChatworkAdapter::new(&[Secret::new(VECTOR_TOKEN)]).expect("a base64 token")
}

fn percent_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[test]
fn the_public_test_vector_verifies_and_one_byte_changes_fail() {
    let adapter = adapter();
    let body = VECTOR_BODY.as_bytes();
    assert!(
        !VECTOR_BODY.ends_with('\n'),
        "the vector has no trailing newline"
    );
    for name in ["X-ChatWorkWebhookSignature", "x-chatworkwebhooksignature"] {
        assert!(
            adapter
                .verify(&parts("/", &[(name, VECTOR_SIGNATURE)]), body)
                .is_ok(),
            "{name}"
        );
    }
    let mut changed = body.to_vec();
    let last = changed.len() - 2;
    changed[last] ^= 1;
    let refused = adapter
        .verify(
            &parts("/", &[("X-ChatWorkWebhookSignature", VECTOR_SIGNATURE)]),
            &changed,
        )
        .unwrap_err();
    assert_eq!(
        (refused.status, refused.code),
        (StatusCode::UNAUTHORIZED, "invalid_signature")
    );
    let mut wrong_signature = VECTOR_SIGNATURE.to_owned();
    wrong_signature.replace_range(0..1, "M");
    assert!(
        adapter
            .verify(
                &parts("/", &[("X-ChatWorkWebhookSignature", &wrong_signature)]),
                body
            )
            .is_err()
    );
}

#[test]
fn the_signature_may_come_as_a_query_parameter() {
    let adapter = adapter();
    let body = VECTOR_BODY.as_bytes();
    let uri = format!(
        "/webhooks/chatwork?{SIGNATURE_PARAM}={}",
        percent_encode(VECTOR_SIGNATURE)
    );
    assert!(adapter.verify(&parts(&uri, &[]), body).is_ok());
    // A `+` left unencoded decodes to a space; it is still read as base64's `+`.
    let keys = HmacKeys::new([BASE64.decode(VECTOR_TOKEN).expect("base64")]);
    let (body_with_plus, signature) = (0..)
        .map(|n| {
            let body = format!(r#"{{"n":{n}}}"#);
            let signature = BASE64.encode(keys.sign(&[body.as_bytes()]).expect("a key"));
            (body, signature)
        })
        .find(|(_, signature)| signature.contains('+'))
        .expect("some signature has a plus");
    let raw = format!("/?{SIGNATURE_PARAM}={}", signature.replace('/', "%2F"));
    assert!(
        adapter
            .verify(&parts(&raw, &[]), body_with_plus.as_bytes())
            .is_ok()
    );

    let missing = adapter
        .verify(&parts("/webhooks/chatwork", &[]), body)
        .unwrap_err();
    assert_eq!(missing.code, "missing_signature");
    let twice = format!("{uri}&{SIGNATURE_PARAM}=x");
    assert_eq!(
        adapter.verify(&parts(&twice, &[]), body).unwrap_err().code,
        "invalid_signature"
    );
    let not_base64 = format!("/?{SIGNATURE_PARAM}=%%%");
    assert_eq!(
        adapter
            .verify(&parts(&not_base64, &[]), body)
            .unwrap_err()
            .code,
        "invalid_signature"
    );
}

#[test]
fn tokens_must_be_base64_and_rotate() {
    assert_eq!(
        ChatworkAdapter::new(&[]).unwrap_err(),
        ChatworkError::MissingToken
    );
    assert_eq!(
        ChatworkAdapter::new(&[Secret::new("not base64!")]).unwrap_err(),
        ChatworkError::TokenNotBase64
    );
    let other = BASE64.encode(b"another key");
    let adapter =
        ChatworkAdapter::new(&[Secret::new(other), Secret::new(VECTOR_TOKEN)]).expect("tokens");
    assert!(
        adapter
            .verify(
                &parts("/", &[("X-ChatWorkWebhookSignature", VECTOR_SIGNATURE)]),
                VECTOR_BODY.as_bytes()
            )
            .is_ok()
    );
}

#[test]
fn messages_parse_with_ids_that_tell_edits_apart() {
    let created = parse_event(&adapter(), CREATED);
    assert_eq!(created.conversation, "567890123");
    assert_eq!(created.delivery_id, "message_created:789012345:0");
    assert_eq!(created.event.text(), Some("Hello Chatwork!"));
    assert_eq!(created.event.sender().expect("sender").id, "123456");

    let updated = parse_event(&adapter(), UPDATED);
    assert_eq!(updated.delivery_id, "message_updated:789012345:1498028140");
    assert_eq!(updated.event.text(), Some("Hello Chatwork! (edited)"));

    let mention = parse_event(&adapter(), VECTOR_BODY);
    assert_eq!(mention.conversation, "93207172");
    assert_eq!(mention.delivery_id, "mention_to_me:1007287971738591232:0");
    assert_eq!(mention.event.sender().expect("sender").id, "2861671");
    assert_eq!(
        mention.event.text(),
        Some("[rp aid=2739132 to=93207172-1007287785163345920] sue445\ntest")
    );
}

#[test]
fn the_bots_own_messages_and_unknown_types_are_acknowledged() {
    let own = adapter().with_account_id("123456");
    assert_eq!(parse_ignored(&own, CREATED), "the bot's own message");
    // Someone else's message still reaches the bot.
    assert!(matches!(
        own.parse(Verified::stored(Bytes::from_static(VECTOR_BODY.as_bytes()))),
        Ok(Parsed::Event(_))
    ));

    let other = parse_event(
        &adapter(),
        r#"{"webhook_event_type":"room_created","webhook_event":{"room_id":5,"account_id":"7"}}"#,
    );
    assert_eq!(other.event.kind(), &EventKind::Other("room_created".into()));
    assert_eq!(other.conversation, "5");
    assert_eq!(
        parse_ignored(
            &adapter(),
            r#"{"webhook_event_type":"ping","webhook_event":{}}"#
        ),
        "an event without a room_id"
    );
}

#[test]
fn malformed_messages_are_refused_with_200_once_verified() {
    let adapter = adapter();
    let rejection = adapter
        .parse(Verified::stored(Bytes::from_static(
            br#"{"webhook_event_type":"message_created","webhook_event":{"room_id":1}}"#,
        )))
        .unwrap_err();
    assert_eq!(
        rejection.message,
        "missing field `webhook_event.message_id`"
    );
    let (status, body) = adapter.refuse(&rejection, true);
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() <= MAX_RESPONSE_BYTES);
    // Before verification, the refusal keeps its status.
    let unsigned = Rejection::unauthorized("missing_signature", "no signature");
    assert_eq!(adapter.refuse(&unsigned, false).0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        adapter
            .parse(Verified::stored(Bytes::from_static(b"{")))
            .unwrap_err()
            .code,
        "not_json"
    );
    assert!(!adapter.sender_retries());
    assert!(ACK.len() <= MAX_RESPONSE_BYTES);
}

#[test]
fn configure_reads_tokens_api_and_account() {
    assert!(
        Chatwork
            .configure(&ChannelSettings::new("chatwork"))
            .expect("valid")
            .is_none()
    );
    let settings = ChannelSettings::new("chatwork")
        .with("token", VECTOR_TOKEN)
        .with("api_token", "api-secret")
        .with("api_base", "http://127.0.0.1:9/v2")
        .with("account_id", "42");
    let adapter = Chatwork
        .configure(&settings)
        .expect("valid")
        .expect("mounted");
    assert_eq!(adapter.mode(), Mode::ViaApi);
    assert_eq!(adapter.deadline(), DEFAULT_DEADLINE);
    let outbox = format!("{:?}", adapter.outbox().expect("an outbox"));
    assert!(outbox.contains("http://127.0.0.1:9/v2") && !outbox.contains("api-secret"));

    let without_api = ChannelSettings::new("chatwork").with("token", VECTOR_TOKEN);
    let adapter = Chatwork
        .configure(&without_api)
        .expect("valid")
        .expect("mounted");
    assert!(adapter.outbox().is_none());

    let bad = ChannelSettings::new("chatwork").with("token", "%%%");
    let error = Chatwork.configure(&bad).unwrap_err().to_string();
    assert!(
        error.contains("not base64") && !error.contains("%%%"),
        "{error}"
    );
    let bad_base = ChannelSettings::new("chatwork")
        .with("token", VECTOR_TOKEN)
        .with("api_token", "x")
        .with("api_base", "ftp://x");
    assert!(Chatwork.configure(&bad_base).is_err());
}
