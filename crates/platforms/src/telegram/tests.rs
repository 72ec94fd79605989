use super::*;
use crate::test_support::{configure, parse_event, parse_ignored, parts};

const START: &str = include_str!("../../../../tests/fixtures/telegram/message_start.json");
const EDITED: &str = include_str!("../../../../tests/fixtures/telegram/edited_message.json");
const CALLBACK: &str = include_str!("../../../../tests/fixtures/telegram/callback_query.json");
const JOINED: &str = include_str!("../../../../tests/fixtures/telegram/group_members.json");
const LEFT: &str = include_str!("../../../../tests/fixtures/telegram/left_member.json");
const CHAT_MEMBER: &str = include_str!("../../../../tests/fixtures/telegram/chat_member.json");
const MEDIA: &str = include_str!("../../../../tests/fixtures/telegram/media.json");

fn adapter() -> TelegramAdapter {
    TelegramAdapter::new(&Secret::list("s3cr3t-Token_1")).expect("a secret")
}

fn with_secret(value: &str) -> Parts {
    parts("/webhooks/telegram", &[(SECRET_HEADER, value)])
}

#[test]
fn the_secret_token_is_compared_exactly() {
    let check = |request: &Parts| adapter().verify(request, b"{}").map_err(|r| r.code);
    assert_eq!(check(&with_secret("s3cr3t-Token_1")), Ok(()));
    for wrong in ["s3cr3t-token_1", "s3cr3t-Token_", "s3cr3t-Token_1 ", ""] {
        assert_eq!(
            check(&with_secret(wrong)),
            Err("invalid_token"),
            "{wrong:?}"
        );
    }
    assert_eq!(
        check(&parts("/webhooks/telegram", &[])),
        Err("missing_token")
    );
    let twice = parts(
        "/webhooks/telegram",
        &[
            (SECRET_HEADER, "s3cr3t-Token_1"),
            (SECRET_HEADER, "s3cr3t-Token_1"),
        ],
    );
    assert_eq!(check(&twice), Err("invalid_token"));
    let rotating = TelegramAdapter::new(&Secret::list("old-one,s3cr3t-Token_1")).expect("secrets");
    assert!(rotating.verify(&with_secret("old-one"), b"").is_ok());
}

#[test]
fn secrets_setwebhook_would_refuse_are_refused() {
    assert_eq!(
        TelegramAdapter::new(&[]).map(drop),
        Err(InvalidSecret::Missing)
    );
    for bad in ["has space", "ünïcode", &"x".repeat(257)] {
        assert_eq!(
            TelegramAdapter::new(&[Secret::new(bad)]).map(drop),
            Err(InvalidSecret::Malformed),
            "{bad}"
        );
    }
}

#[test]
fn the_documentations_message_parses() {
    let inbound = parse_event(&adapter(), START);
    assert_eq!(inbound.delivery_id, "10000");
    assert_eq!(inbound.conversation, "1111111");
    assert_eq!(inbound.event.text(), Some("/start"));
    assert_eq!(
        inbound.event.message().and_then(|m| m.id.as_deref()),
        Some("1365")
    );
    let sender = inbound.event.sender().expect("a sender");
    assert_eq!(
        (sender.id.as_str(), sender.name()),
        ("1111111", "Test Test Lastname")
    );
    assert!(!sender.is_bot);
}

#[test]
fn edits_and_button_presses_keep_their_names() {
    let edited = parse_event(&adapter(), EDITED);
    assert_eq!(
        edited.event.kind(),
        &EventKind::Other("edited_message".into())
    );
    assert_eq!(edited.conversation, "1111111");
    let pressed = parse_event(&adapter(), CALLBACK);
    assert_eq!(
        pressed.event.kind(),
        &EventKind::Other("callback_query".into())
    );
    // An inline message's button: the user's own chat.
    assert_eq!(pressed.conversation, "1111111");
    let payload: Value = pressed.event.payload().expect("json");
    assert_eq!(
        payload["callback_query"]["data"],
        "Data from button callback"
    );
}

#[test]
fn members_joining_and_leaving() {
    let joined = parse_event(&adapter(), JOINED);
    assert_eq!(joined.conversation, "-1001234567890");
    let names: Vec<(&str, bool)> = joined
        .event
        .joined()
        .iter()
        .map(|m| (m.name(), m.is_bot))
        .collect();
    assert_eq!(names, [("Ann", false), ("OtherBot", true)]);
    let left = parse_event(&adapter(), LEFT);
    assert_eq!(left.event.left()[0].name(), "Ann");
    let member = parse_event(&adapter(), CHAT_MEMBER);
    assert_eq!(member.event.joined()[0].name(), "Bo");
    let leaving = CHAT_MEMBER
        .replace(r#""status":"left""#, r#""status":"was""#)
        .replace(r#""status":"member""#, r#""status":"left""#)
        .replace(r#""status":"was""#, r#""status":"member""#);
    assert_eq!(
        parse_event(&adapter(), &leaving).event.left()[0].name(),
        "Bo"
    );
    let promoted = CHAT_MEMBER
        .replace(r#""status":"left""#, r#""status":"member""#)
        .replacen(r#""status":"member""#, r#""status":"administrator""#, 1);
    assert_eq!(
        parse_event(&adapter(), &promoted).event.kind(),
        &EventKind::Other("chat_member".into())
    );
}

#[test]
fn media_keep_their_kind() {
    let document = parse_event(&adapter(), MEDIA);
    let message = document.event.message().expect("a message");
    assert_eq!(
        (message.message_type.clone(), message.body.as_str()),
        (MessageType::File, "Testfile.pdf")
    );
    let photo = r#"{"update_id":1,"message":{"message_id":2,"chat":{"id":3},"photo":[{"file_id":"x"}],"caption":"look"}}"#;
    let photo = parse_event(&adapter(), photo);
    assert_eq!(
        photo
            .event
            .message()
            .map(|m| (m.message_type.clone(), m.body.as_str())),
        Some((MessageType::Image, "look"))
    );
    assert_eq!(photo.event.text(), None);
    assert!(photo.event.sender().is_none());
}

#[test]
fn other_updates_route_by_their_chat_or_user_or_are_acknowledged() {
    let reaction =
        r#"{"update_id":7,"message_reaction":{"chat":{"id":-100},"message_id":1,"date":1}}"#;
    let reaction = parse_event(&adapter(), reaction);
    assert_eq!(
        reaction.event.kind(),
        &EventKind::Other("message_reaction".into())
    );
    assert_eq!(reaction.conversation, "-100");
    let inline = r#"{"update_id":8,"inline_query":{"id":"q","from":{"id":42,"first_name":"A"},"query":"x"}}"#;
    assert_eq!(parse_event(&adapter(), inline).conversation, "42");
    assert_eq!(
        parse_ignored(
            &adapter(),
            r#"{"update_id":9,"poll":{"id":"p","question":"?"}}"#
        ),
        "an update with no chat or user to route by"
    );
    assert_eq!(
        parse_ignored(&adapter(), r#"{"update_id":10}"#),
        "an update of no kind"
    );
}

#[test]
fn broken_updates_are_400_naming_the_field() {
    for (body, message) in [
        (r#"{"poll":{}}"#, "missing field `update_id`"),
        (
            r#"{"update_id":"x"}"#,
            "field `update_id` has the wrong type",
        ),
        (
            r#"{"update_id":1,"message":{"message_id":1}}"#,
            "missing field `message.chat`",
        ),
        (
            r#"{"update_id":1,"message":{"message_id":1,"chat":{"id":"s3cret"}}}"#,
            "field `message.chat.id` has the wrong type",
        ),
    ] {
        let refused = adapter()
            .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
            .expect_err(body);
        assert_eq!(
            (refused.status.as_u16(), refused.code),
            (400, "invalid_field"),
            "{body}"
        );
        assert_eq!(refused.message, message);
    }
}

#[test]
fn the_answer_is_a_send_message_to_the_chat() {
    let inbound = parse_event(&adapter(), START);
    let body = adapter().render_to(&inbound, &Reply::text("hello"), Some("idle"));
    let json: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"method": "sendMessage", "chat_id": 1111111, "text": "hello"})
    );
    let long = "字".repeat(TEXT_LIMIT + 10);
    let body = adapter().render_to(&inbound, &Reply::text(long), None);
    let json: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        json["text"].as_str().map(|t| t.chars().count()),
        Some(TEXT_LIMIT)
    );
    // Nothing to say: an empty answer; to a button press, the spinner stopped.
    assert!(
        adapter()
            .render_to(&inbound, &Reply::none(), None)
            .is_empty()
    );
    let pressed = parse_event(&adapter(), CALLBACK);
    let body = adapter().render_to(&pressed, &Reply::none(), None);
    let json: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"method": "answerCallbackQuery", "callback_query_id": "4382bfdwdsb323b2d9"})
    );
    // A channel by its @name stays a string.
    let mut named = parse_event(&adapter(), START);
    named.conversation = "@botwire_news".to_owned();
    let body = adapter().render_to(&named, &Reply::text("x"), None);
    assert!(String::from_utf8_lossy(&body).contains(r#""chat_id":"@botwire_news""#));
}

#[test]
fn settings_mount_a_channel_and_name_what_is_wrong() {
    let configure = |pairs: &[(&str, &str)]| configure(&Telegram, pairs);
    assert!(configure(&[]).expect("no error").is_none());
    let bare = configure(&[("secret", "abc")])
        .expect("valid")
        .expect("mounted");
    assert!(bare.outbox().is_none());
    assert_eq!(bare.mode(), Mode::InResponse);
    assert_eq!(bare.deadline(), DEFAULT_DEADLINE);
    let error = configure(&[("secret", "not allowed!")]).expect_err("refused");
    assert!(error.to_string().contains("secret"), "{error}");
    assert!(!error.to_string().contains("not allowed!"), "{error}");
    #[cfg(feature = "send-api")]
    {
        let sending = configure(&[
            ("secret", "abc"),
            ("bot_token", "123:tg-token-9"),
            ("api_base", "http://127.0.0.1:9"),
            ("deadline", "2s"),
        ])
        .expect("valid")
        .expect("mounted");
        assert!(sending.outbox().is_some());
        assert_eq!(sending.deadline(), Duration::from_secs(2));
        assert!(!format!("{sending:?}").contains("tg-token-9"));
        let error = configure(&[("secret", "abc"), ("api_base", "http://x")]).expect_err("refused");
        assert!(error.to_string().contains("bot_token"), "{error}");
    }
    assert_eq!(
        bare.rate_limits(),
        RateLimits {
            token: Some(Rate::new(30, Duration::from_secs(1))),
            conversation: Some(Rate::new(20, Duration::from_secs(60))),
        }
    );
}
