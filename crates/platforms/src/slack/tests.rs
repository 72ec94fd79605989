use super::*;
use crate::test_support::{configure, parse_event, parse_ignored, parts};

const VERIFICATION: &str = include_str!("../../../../tests/fixtures/slack/url_verification.json");
const MESSAGE: &str = include_str!("../../../../tests/fixtures/slack/message.json");
const MENTION: &str = include_str!("../../../../tests/fixtures/slack/app_mention.json");
const JOINED: &str = include_str!("../../../../tests/fixtures/slack/member_joined_channel.json");
const LEFT: &str = include_str!("../../../../tests/fixtures/slack/member_left_channel.json");
const BOT: &str = include_str!("../../../../tests/fixtures/slack/bot_message.json");
const THREAD: &str = include_str!("../../../../tests/fixtures/slack/thread_reply.json");

/// Slack's documented example (also in python-slack-sdk's and bolt-js's tests).
const VECTOR_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const VECTOR_TIMESTAMP: u64 = 1_531_420_618;
const VECTOR_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const VECTOR_SIGNATURE: &str =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

fn adapter() -> SlackAdapter {
    SlackAdapter::new(&Secret::list(VECTOR_SECRET)).expect("a secret")
}

fn signed(timestamp: &str, signature: &str) -> Parts {
    parts(
        "/webhooks/slack",
        &[(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)],
    )
}

fn check(request: &Parts, body: &str, now: u64) -> Result<(), &'static str> {
    let keys = HmacKeys::from_secrets(&Secret::list(VECTOR_SECRET));
    verify_request(
        &keys,
        &request.headers,
        body.as_bytes(),
        now,
        DEFAULT_TOLERANCE,
    )
    .map_err(|r| r.code)
}

#[test]
fn the_published_vector_verifies_and_one_changed_byte_does_not() {
    let request = signed("1531420618", VECTOR_SIGNATURE);
    assert_eq!(check(&request, VECTOR_BODY, VECTOR_TIMESTAMP), Ok(()));
    let changed = VECTOR_BODY.replacen("roadrunner", "roadRunner", 1);
    assert_eq!(
        check(&request, &changed, VECTOR_TIMESTAMP),
        Err("invalid_signature")
    );
    let flipped = VECTOR_SIGNATURE.replacen("a2114d", "a2114e", 1);
    assert_eq!(
        check(
            &signed("1531420618", &flipped),
            VECTOR_BODY,
            VECTOR_TIMESTAMP
        ),
        Err("invalid_signature")
    );
    // The timestamp is signed: the same signature under another one fails.
    assert_eq!(
        check(
            &signed("1531420619", VECTOR_SIGNATURE),
            VECTOR_BODY,
            VECTOR_TIMESTAMP
        ),
        Err("invalid_signature")
    );
    // Upper-case hex is the same tag; without `v0=` it is not Slack's.
    let upper = format!("v0={}", VECTOR_SIGNATURE[3..].to_uppercase());
    assert_eq!(
        check(&signed("1531420618", &upper), VECTOR_BODY, VECTOR_TIMESTAMP),
        Ok(())
    );
    assert_eq!(
        check(
            &signed("1531420618", &VECTOR_SIGNATURE[3..]),
            VECTOR_BODY,
            VECTOR_TIMESTAMP
        ),
        Err("invalid_signature")
    );
}

#[test]
fn six_minutes_either_way_is_refused_and_five_is_not() {
    let request = signed("1531420618", VECTOR_SIGNATURE);
    for now in [VECTOR_TIMESTAMP + 360, VECTOR_TIMESTAMP - 360] {
        assert_eq!(check(&request, VECTOR_BODY, now), Err("stale_timestamp"));
    }
    for now in [VECTOR_TIMESTAMP + 300, VECTOR_TIMESTAMP - 300] {
        assert_eq!(check(&request, VECTOR_BODY, now), Ok(()));
    }
    // At the adapter, against this machine's clock: the vector is years old.
    assert_eq!(
        adapter()
            .verify(&request, VECTOR_BODY.as_bytes())
            .map_err(|r| r.code),
        Err("stale_timestamp")
    );
}

#[test]
fn missing_or_malformed_headers_are_named() {
    let only_signature = parts("/webhooks/slack", &[(SIGNATURE_HEADER, VECTOR_SIGNATURE)]);
    assert_eq!(
        check(&only_signature, VECTOR_BODY, VECTOR_TIMESTAMP),
        Err("missing_timestamp")
    );
    assert_eq!(
        check(
            &signed("soon", VECTOR_SIGNATURE),
            VECTOR_BODY,
            VECTOR_TIMESTAMP
        ),
        Err("invalid_timestamp")
    );
    let only_timestamp = parts("/webhooks/slack", &[(TIMESTAMP_HEADER, "1531420618")]);
    assert_eq!(
        check(&only_timestamp, VECTOR_BODY, VECTOR_TIMESTAMP),
        Err("missing_signature")
    );
    let twice = parts(
        "/webhooks/slack",
        &[
            (TIMESTAMP_HEADER, "1531420618"),
            (SIGNATURE_HEADER, VECTOR_SIGNATURE),
            (SIGNATURE_HEADER, VECTOR_SIGNATURE),
        ],
    );
    assert_eq!(
        check(&twice, VECTOR_BODY, VECTOR_TIMESTAMP),
        Err("invalid_signature")
    );
}

#[test]
fn url_verification_is_answered_with_its_challenge() {
    match adapter()
        .parse(Verified::stored(Bytes::from_static(
            VERIFICATION.as_bytes(),
        )))
        .expect("parses")
    {
        Parsed::Answer { body, .. } => {
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(
                json["challenge"],
                "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
            );
        }
        other => panic!("expected an answer, got {other:?}"),
    }
    let no_challenge = adapter()
        .parse(Verified::stored(Bytes::from_static(
            br#"{"type":"url_verification"}"#,
        )))
        .expect_err("refused");
    assert_eq!(no_challenge.message, "missing field `challenge`");
}

#[test]
fn messages_mentions_and_members() {
    let message = parse_event(&adapter(), MESSAGE);
    assert_eq!(message.delivery_id, "Ev123ABC456");
    assert_eq!(message.conversation, "C123ABC456");
    assert_eq!(message.event.text(), Some("Hello world"));
    assert_eq!(
        message.event.sender().map(|s| s.id.as_str()),
        Some("U123ABC456")
    );
    assert_eq!(
        message.event.message().and_then(|m| m.id.as_deref()),
        Some("1355517523.000005")
    );
    // The bot's own mention is not part of what was said to it.
    let mention = parse_event(&adapter(), MENTION);
    assert_eq!(
        mention.event.text(),
        Some("is it everything a river should be?")
    );
    assert_eq!(mention.delivery_id, "Ev0LAN670R");
    let joined = parse_event(&adapter(), JOINED);
    assert_eq!(joined.event.joined()[0].id, "W123ABC456");
    let left = parse_event(&adapter(), LEFT);
    assert_eq!(left.event.left()[0].id, "W123ABC456");
    assert_eq!(parse_ignored(&adapter(), BOT), "a bot's message");
    let threaded = parse_event(&adapter(), THREAD);
    assert_eq!(threaded.event.text(), Some("in a thread"));
}

#[test]
fn other_events_keep_their_names_and_retries_are_marked() {
    let edited = MESSAGE.replace(
        r#""type": "message","#,
        r#""type": "message", "subtype": "message_changed","#,
    );
    assert_eq!(
        parse_event(&adapter(), &edited).event.kind(),
        &EventKind::Other("message.message_changed".into())
    );
    let reaction = MESSAGE.replace(r#""type": "message","#, r#""type": "reaction_added","#);
    assert_eq!(
        parse_event(&adapter(), &reaction).event.kind(),
        &EventKind::Other("reaction_added".into())
    );
    let no_channel = MESSAGE.replace(r#""channel": "C123ABC456","#, "");
    assert_eq!(
        parse_ignored(&adapter(), &no_channel),
        "a Slack event outside a channel"
    );
    assert_eq!(
        parse_ignored(
            &adapter(),
            r#"{"type":"app_rate_limited","minute_rate_limited":1}"#
        ),
        "a Slack request that is not an event"
    );
    // A retry is marked, and still is when parsed again from the queue.
    let bare = Verified::stored(Bytes::from_static(MESSAGE.as_bytes()));
    match adapter().parse(bare).expect("parses") {
        Parsed::Event(inbound) => assert!(!inbound.event.is_redelivery()),
        other => panic!("expected an event, got {other:?}"),
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .to_string();
    let keys = HmacKeys::from_secrets(&Secret::list(VECTOR_SECRET));
    let tag = keys
        .sign(&[b"v0:", now.as_bytes(), b":", MESSAGE.as_bytes()])
        .expect("a key");
    let signature = format!("v0={}", hex::encode(tag));
    let request = parts(
        "/webhooks/slack",
        &[
            (TIMESTAMP_HEADER, &now),
            (SIGNATURE_HEADER, &signature),
            (RETRY_HEADER, "1"),
        ],
    );
    let verified =
        Verified::check(&adapter(), &request, Bytes::from_static(MESSAGE.as_bytes())).expect("ok");
    let again = Verified::stored(verified.to_stored());
    match adapter().parse(again).expect("parses") {
        Parsed::Event(inbound) => assert!(inbound.event.is_redelivery()),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn broken_events_are_400_and_not_retried() {
    for (body, message) in [
        (
            r#"{"type":"event_callback","event":{"type":"message"}}"#,
            "missing field `event_id`",
        ),
        (
            r#"{"type":"event_callback","event_id":"Ev1"}"#,
            "missing field `event`",
        ),
        (r#"{"event_id":"Ev1"}"#, "missing field `type`"),
    ] {
        let refused = adapter()
            .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
            .expect_err(body);
        assert_eq!(
            (refused.status.as_u16(), refused.message.as_ref()),
            (400, message)
        );
        assert_eq!(
            adapter().refusal_headers(&refused, true)[NO_RETRY_HEADER],
            "1"
        );
    }
    let unauthorized = Rejection::unauthorized("invalid_signature", "x");
    assert!(
        adapter().refusal_headers(&unauthorized, false).is_empty(),
        "a rotation may fix it"
    );
    let busy = Rejection::new(StatusCode::SERVICE_UNAVAILABLE, "queue_full", "x");
    assert!(adapter().refusal_headers(&busy, true).is_empty());
}

#[test]
fn settings_mount_a_channel_and_name_what_is_wrong() {
    let configure = |pairs: &[(&str, &str)]| configure(&Slack, pairs);
    assert!(configure(&[]).expect("no error").is_none());
    let logged = configure(&[("secret", "s"), ("tolerance", "1m")])
        .expect("valid")
        .expect("mounted");
    assert!(logged.outbox().is_none());
    assert_eq!(logged.deadline(), DEFAULT_DEADLINE);
    assert_eq!(logged.kept_headers(), [RETRY_HEADER]);
    #[cfg(feature = "send-api")]
    {
        let sending = configure(&[
            ("secret", "s"),
            ("bot_token", "xoxb-slack-token-7"),
            ("api_base", "http://127.0.0.1:9"),
        ])
        .expect("valid")
        .expect("mounted");
        assert!(sending.outbox().is_some());
        assert!(!format!("{sending:?}").contains("xoxb-slack-token-7"));
        let error = configure(&[("secret", "s"), ("api_base", "http://x")]).expect_err("refused");
        assert!(error.to_string().contains("bot_token"), "{error}");
    }
    let error = configure(&[("secret", "s"), ("tolerance", "later")]).expect_err("refused");
    assert!(error.to_string().contains("tolerance"), "{error}");
}
