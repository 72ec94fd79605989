use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::*;
use crate::test_support::{configure, parse_ignored, parts};

const SAMPLE: &str = include_str!("../../../../tests/fixtures/line/webhook_sample.json");
const GROUP: &str = include_str!("../../../../tests/fixtures/line/message_in_group.json");
const MEDIA: &str = include_str!("../../../../tests/fixtures/line/media.json");
const MEMBERS: &str = include_str!("../../../../tests/fixtures/line/members.json");
const POSTBACK: &str = include_str!("../../../../tests/fixtures/line/postback.json");
const VERIFY: &str = include_str!("../../../../tests/fixtures/line/verify.json");

fn adapter() -> LineAdapter {
    LineAdapter::new(&Secret::list("test_secret")).expect("has a secret")
}

fn batch(body: &str) -> Vec<Inbound> {
    match adapter()
        .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
        .expect("parses")
    {
        Parsed::Batch(batch) => batch,
        other => panic!("expected a batch, got {other:?}"),
    }
}

fn refused(body: &str) -> Rejection {
    adapter()
        .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
        .expect_err("refused")
}

#[test]
fn the_published_vector_verifies_and_one_changed_byte_does_not() {
    // line-bot-sdk-nodejs: secret `test_secret`, body {"hello":"world"}.
    let body = br#"{"hello":"world"}"#;
    let signed = |signature: &str| parts("/webhooks/line", &[(SIGNATURE_HEADER, signature)]);
    let good = "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=";
    assert_eq!(adapter().verify(&signed(good), body), Ok(()));
    // One letter's case flipped in the signature, and one byte of the body.
    let flipped = "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tm=";
    let refused = adapter()
        .verify(&signed(flipped), body)
        .expect_err("refused");
    assert_eq!(
        (refused.status.as_u16(), refused.code),
        (401, "invalid_signature")
    );
    assert!(
        adapter()
            .verify(&signed(good), br#"{"hello":"World"}"#)
            .is_err()
    );
    let missing = adapter()
        .verify(&parts("/webhooks/line", &[]), body)
        .expect_err("refused");
    assert_eq!(missing.code, "missing_signature");
    // The same HMAC under another secret, for rotation.
    let both = LineAdapter::new(&Secret::list("old_secret,test_secret")).expect("secrets");
    assert_eq!(both.verify(&signed(good), body), Ok(()));
    let tag = HmacKeys::new(["old_secret"]).sign(&[body]).expect("a key");
    assert_eq!(both.verify(&signed(&BASE64.encode(tag)), body), Ok(()));
}

#[test]
fn each_event_of_the_reference_sample_is_its_own_delivery() {
    let events = batch(SAMPLE);
    assert_eq!(events.len(), 3);
    let ids: Vec<&str> = events.iter().map(|e| e.delivery_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "01FZ74A0TDDPYRVKNK77XKC3ZR",
            "01FZ74ASS536FW97EX38NKCZQK",
            "01FZ74B5Y0F4TNKA5SCAVKPEDM"
        ]
    );
    let text = &events[0];
    assert_eq!(text.event.text(), Some("Hello, world"));
    assert_eq!(text.conversation, "U80696558e1aa831...");
    assert_eq!(
        text.event.sender().map(|s| s.id.as_str()),
        Some("U80696558e1aa831...")
    );
    assert!(!text.event.is_redelivery());
    // The payload is the event itself, with its reply token.
    let payload: serde_json::Value = text.event.payload().expect("json");
    assert_eq!(payload["replyToken"], "757913772c4646b784d4b7ce46d12671");
    assert_eq!(events[1].event.joined()[0].id, "Ufc729a925b3abef...");
    assert_eq!(events[2].event.left()[0].id, "Ubbd4f124aee5113...");
}

#[test]
fn a_batch_member_parses_again_alone_to_itself() {
    for inbound in batch(SAMPLE) {
        let own = inbound
            .body
            .clone()
            .expect("one of several has its own body");
        let again = match adapter()
            .parse(Verified::stored(own.to_stored()))
            .expect("parses")
        {
            Parsed::Batch(mut alone) if alone.len() == 1 => alone.pop().expect("one"),
            other => panic!("expected a batch of one, got {other:?}"),
        };
        assert_eq!(again.delivery_id, inbound.delivery_id);
        assert_eq!(again.conversation, inbound.conversation);
        assert_eq!(again.event.kind(), inbound.event.kind());
        assert_eq!(again.event.raw_payload(), inbound.event.raw_payload());
        // Alone, it needs no body of its own: the whole body is it.
        assert!(again.body.is_none());
    }
}

#[test]
fn conversations_are_the_group_the_room_or_the_user() {
    let group = batch(GROUP).pop().expect("one");
    assert_eq!(group.conversation, "Ca56f94637cc4347f90a25382909b24b9");
    assert_eq!(
        group.event.sender().map(|s| s.id.as_str()),
        Some("U206d25c2ea6bd87c17655609a1c37cb8")
    );
    assert_eq!(group.event.text(), Some("Good Morning!!"));
    let media = batch(MEDIA);
    assert_eq!(media[0].conversation, "Ra8dbf4673c4c812cd491258042226c99");
    assert_eq!(media[1].conversation, "U206d25c2ea6bd87c17655609a1c37cb8");
}

#[test]
fn non_text_messages_keep_their_kind() {
    let media = batch(MEDIA);
    let kinds: Vec<(MessageType, &str)> = media
        .iter()
        .map(|m| {
            let message = m.event.message().expect("a message");
            (message.message_type.clone(), message.body.as_str())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (MessageType::Image, ""),
            (MessageType::Sticker, "1"),
            (MessageType::File, "file.txt"),
            (MessageType::Location, "Tokyo"),
        ]
    );
    assert_eq!(media[0].event.text(), None);
    assert_eq!(
        media[0].event.message().and_then(|m| m.id.as_deref()),
        Some("354718705033693861")
    );
    assert!(
        media[2].event.is_redelivery(),
        "isRedelivery reaches the handler"
    );
}

#[test]
fn member_events_and_the_bots_own_joins() {
    let events = batch(MEMBERS);
    let joined: Vec<&str> = events[0]
        .event
        .joined()
        .iter()
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(
        joined,
        [
            "U4af4980629b1a1fd4bb8ee7f8d1f27d",
            "U91eeaf62d901234567890123456abcd"
        ]
    );
    assert_eq!(events[0].conversation, "C4af4980629b1a1fd4bb8ee7f8d1f27d");
    assert_eq!(events[1].event.left().len(), 1);
    assert_eq!(events[2].event.kind(), &EventKind::Other("join".into()));
    assert_eq!(events[3].event.kind(), &EventKind::Other("leave".into()));
}

#[test]
fn a_postback_keeps_its_data_in_the_payload() {
    let postback = batch(POSTBACK).pop().expect("one");
    assert_eq!(postback.event.kind(), &EventKind::Other("postback".into()));
    let payload: serde_json::Value = postback.event.payload().expect("json");
    assert_eq!(payload["postback"]["data"], "storeId=12345");
}

#[test]
fn the_consoles_verification_is_acknowledged() {
    assert_eq!(
        parse_ignored(&adapter(), VERIFY),
        "no events (LINE's webhook verification)"
    );
}

#[test]
fn unknown_events_and_messages_are_kept() {
    let body = r#"{"destination":"U1","events":[
        {"type":"futureEventType","webhookEventId":"e1","source":{"type":"user","userId":"U2"}},
        {"type":"message","webhookEventId":"e2","source":{"type":"user","userId":"U2"},
         "message":{"id":"m","type":"futureMessageType"}},
        {"type":"delivery","webhookEventId":"e3","delivery":{"data":"x"}}]}"#;
    let events = batch(body);
    assert_eq!(
        events[0].event.kind(),
        &EventKind::Other("futureEventType".into())
    );
    assert_eq!(
        events[1].event.message().map(|m| m.message_type.clone()),
        Some(MessageType::Other("futureMessageType".into()))
    );
    // No source: the event is the bot's own (its destination).
    assert_eq!(events[2].conversation, "U1");
}

#[test]
fn broken_events_are_400_naming_the_event_and_field() {
    for (body, message) in [
        (
            r#"{"events":[{"type":"follow","source":{"type":"user","userId":"U"}}]}"#,
            "missing field `events[0].webhookEventId`",
        ),
        (
            r#"{"events":[{"type":"follow","webhookEventId":"a","source":{"type":"user","userId":"U"}},
                {"type":"message","webhookEventId":"b","source":{"type":"user","userId":"U"}}]}"#,
            "missing field `events[1].message`",
        ),
        (
            r#"{"events":[{"type":"follow","webhookEventId":"a","source":{"type":"group"}}]}"#,
            "missing field `events[0].source.groupId`",
        ),
        (
            r#"{"events":[{"type":"message","webhookEventId":"a","source":{"type":"user","userId":"U"},"message":{"type":"text","id":7}}]}"#,
            "field `events[0].message.id` has the wrong type",
        ),
        (
            r#"{"events":[{"type":"follow","webhookEventId":"","source":{"type":"user","userId":"U"}}]}"#,
            "missing field `events[0].webhookEventId`",
        ),
        (
            r#"{"events":[{"type":"follow","webhookEventId":"a","source":{"type":"user"}}]}"#,
            "missing field `events[0].source.userId`",
        ),
        (r#"{"destination":"x"}"#, "missing field `events`"),
    ] {
        let rejection = refused(body);
        assert_eq!(
            (rejection.status.as_u16(), rejection.code),
            (400, "invalid_field"),
            "{body}"
        );
        assert_eq!(rejection.message, message);
    }
    assert_eq!(refused("not json").code, "not_json");
}

#[test]
fn settings_mount_a_channel_and_name_what_is_wrong() {
    let configure = |pairs: &[(&str, &str)]| configure(&Line, pairs);
    assert!(configure(&[]).expect("no error").is_none());
    let logged = configure(&[("secret", "s")])
        .expect("valid")
        .expect("mounted");
    assert!(logged.outbox().is_none(), "no token: replies are logged");
    assert_eq!(logged.deadline(), DEFAULT_DEADLINE);
    assert_eq!(
        logged.rate_limits().token,
        Some(Rate::new(2_000, Duration::from_secs(1)))
    );
    #[cfg(feature = "send-api")]
    {
        let sending = configure(&[
            ("secret", "s"),
            ("access_token", "line-token-9"),
            ("api_base", "http://127.0.0.1:9"),
            ("reply_window", "30s"),
        ])
        .expect("valid")
        .expect("mounted");
        assert!(sending.outbox().is_some());
        assert!(!format!("{sending:?}").contains("line-token-9"));
        let error = configure(&[("secret", "s"), ("api_base", "http://x")]).expect_err("refused");
        assert!(error.to_string().contains("access_token"), "{error}");
        let error = configure(&[
            ("secret", "s"),
            ("access_token", "t"),
            ("api_base", "ftp://x"),
        ])
        .expect_err("refused");
        assert!(error.to_string().contains("api_base"), "{error}");
    }
    let error = configure(&[("secret", "s"), ("channel_token", "t")]).expect_err("unknown");
    assert!(error.to_string().contains("channel_token"), "{error}");
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    for depth in [10_000, 1_000_000] {
        let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let body = format!(
            r#"{{"events":[{{"type":"message","webhookEventId":"e","source":{{"type":"user","userId":"U"}},"message":{{"type":"text","id":"1","text":{deep}}}}}]}}"#
        );
        let rejection = refused(&body);
        assert_eq!(rejection.status.as_u16(), 400, "{depth}");
        let deeper = format!(r#"{{"events":[{deep}]}}"#);
        assert_eq!(refused(&deeper).status.as_u16(), 400, "{depth}");
    }
}
