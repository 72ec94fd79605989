use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use super::*;
use crate::test_support::{configure, parse_event, parts};

const PING: &str = include_str!("../../../../tests/fixtures/discord/ping.json");
const COMMAND: &str = include_str!("../../../../tests/fixtures/discord/slash_command.json");
const BUTTON: &str = include_str!("../../../../tests/fixtures/discord/button.json");
const DM: &str = include_str!("../../../../tests/fixtures/discord/dm_command.json");

/// RFC 8032's first test key (Discord publishes no vector; Ed25519 is deterministic).
const PUBLIC_KEY: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const SECRET_KEY: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const TIMESTAMP: &str = "1700000000";
const SIGNATURE: &str = "f0bd878adcef1f6d475c9644421905bd02b5de38e0d3ecfc6f58a711962c69ccc8dd7c9db312f9bdf08b1e1b8182e27a844da728c5e0dbb5507bf9931c1ed80b";

fn adapter() -> DiscordAdapter {
    DiscordAdapter::new(&[PUBLIC_KEY]).expect("a key")
}

fn signed(timestamp: &str, signature: &str) -> Parts {
    parts(
        "/webhooks/discord",
        &[(TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)],
    )
}

fn sign(timestamp: &str, body: &str) -> String {
    let mut secret = [0u8; 32];
    hex::decode_to_slice(SECRET_KEY, &mut secret).expect("hex");
    let key = SigningKey::from_bytes(&secret);
    hex::encode(
        key.sign([timestamp.as_bytes(), body.as_bytes()].concat().as_slice())
            .to_bytes(),
    )
}

fn code(result: Result<(), Rejection>) -> Result<(), &'static str> {
    result.map_err(|r| r.code)
}

#[test]
fn the_vector_verifies_and_one_changed_byte_does_not() {
    assert_eq!(
        sign(TIMESTAMP, PING),
        SIGNATURE,
        "the vector is RFC 8032's key signing it"
    );
    let verify = |request: &Parts, body: &str| code(adapter().verify(request, body.as_bytes()));
    assert_eq!(verify(&signed(TIMESTAMP, SIGNATURE), PING), Ok(()));
    // One byte of the body, of the timestamp, of the signature.
    let changed = PING.replacen("\"type\":1", "\"type\":2", 1);
    assert_eq!(
        verify(&signed(TIMESTAMP, SIGNATURE), &changed),
        Err("invalid_signature")
    );
    assert_eq!(
        verify(&signed("1700000001", SIGNATURE), PING),
        Err("invalid_signature")
    );
    let flipped = format!("{}{}", &SIGNATURE[..127], "c");
    assert_eq!(
        verify(&signed(TIMESTAMP, &flipped), PING),
        Err("invalid_signature")
    );
    // Upper-case hex is the same signature.
    assert_eq!(
        verify(&signed(TIMESTAMP, &SIGNATURE.to_uppercase()), PING),
        Ok(())
    );
    for malformed in ["", "zz", &SIGNATURE[..126]] {
        assert_eq!(
            verify(&signed(TIMESTAMP, malformed), PING),
            Err("invalid_signature")
        );
    }
}

#[test]
fn headers_missing_or_doubled_are_named() {
    let verify = |request: &Parts| code(adapter().verify(request, PING.as_bytes()));
    let no_timestamp = parts("/webhooks/discord", &[(SIGNATURE_HEADER, SIGNATURE)]);
    assert_eq!(verify(&no_timestamp), Err("missing_timestamp"));
    let no_signature = parts("/webhooks/discord", &[(TIMESTAMP_HEADER, TIMESTAMP)]);
    assert_eq!(verify(&no_signature), Err("missing_signature"));
    let twice = parts(
        "/webhooks/discord",
        &[
            (TIMESTAMP_HEADER, TIMESTAMP),
            (SIGNATURE_HEADER, SIGNATURE),
            (SIGNATURE_HEADER, SIGNATURE),
        ],
    );
    assert_eq!(verify(&twice), Err("invalid_signature"));
}

#[test]
fn no_age_limit_unless_one_is_set() {
    // The vector is from 2023: accepted, as Discord documents no window.
    assert_eq!(
        code(adapter().verify(&signed(TIMESTAMP, SIGNATURE), PING.as_bytes())),
        Ok(())
    );
    let strict = adapter().with_tolerance(Duration::from_secs(300));
    assert_eq!(
        code(strict.verify(&signed(TIMESTAMP, SIGNATURE), PING.as_bytes())),
        Err("stale_timestamp")
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .to_string();
    assert_eq!(
        code(strict.verify(&signed(&now, &sign(&now, PING)), PING.as_bytes())),
        Ok(())
    );
}

#[test]
fn keys_must_be_ed25519_public_keys_in_hex() {
    assert_eq!(
        DiscordAdapter::new::<&str>(&[]).map(drop),
        Err(InvalidKey::Missing)
    );
    for bad in [
        "",
        "d75a98",
        "not hex at all, not hex at all, not hex at all, not hex at all!!",
    ] {
        assert_eq!(
            DiscordAdapter::new(&[bad]).map(drop),
            Err(InvalidKey::Malformed),
            "{bad:?}"
        );
    }
    // Two keys: either verifies.
    let other = hex::encode(SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes());
    let both = DiscordAdapter::new(&[other.as_str(), PUBLIC_KEY]).expect("keys");
    assert_eq!(
        code(both.verify(&signed(TIMESTAMP, SIGNATURE), PING.as_bytes())),
        Ok(())
    );
}

#[test]
fn a_ping_is_answered_pong() {
    match adapter()
        .parse(Verified::stored(Bytes::from_static(PING.as_bytes())))
        .expect("parses")
    {
        Parsed::Answer { body, .. } => assert_eq!(body.as_ref(), br#"{"type":1}"#),
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn a_slash_command_reads_as_what_it_says() {
    let command = parse_event(&adapter(), COMMAND);
    assert_eq!(command.delivery_id, "786008729715212338");
    assert_eq!(command.conversation, "645027906669510667");
    assert_eq!(command.event.text(), Some("The Gitrog Monster"));
    let sender = command.event.sender().expect("a member");
    assert_eq!(
        (sender.id.as_str(), sender.name()),
        ("53908232506183680", "Mason")
    );
    // No options: the command's name. In a DM, the user is the sender.
    let dm = parse_event(&adapter(), DM);
    assert_eq!(dm.event.text(), Some("teach"));
    assert_eq!(dm.conversation, "645027906669510668");
    assert_eq!(dm.event.sender().map(Member::name), Some("Mason"));
    // A subcommand's options, numbers too.
    let nested = json!({"id":"1","type":2,"channel_id":"c","data":{"name":"x","options":[
        {"name":"sub","type":1,"options":[{"name":"a","type":3,"value":"ping =>"},{"name":"b","type":4,"value":42}]}
    ]}});
    assert_eq!(
        parse_event(&adapter(), &nested.to_string()).event.text(),
        Some("ping => 42")
    );
}

#[test]
fn components_modals_and_autocomplete() {
    let button = parse_event(&adapter(), BUTTON);
    assert_eq!(button.event.kind(), &EventKind::Other("component".into()));
    let payload: Value = button.event.payload().expect("json");
    assert_eq!(payload["data"]["custom_id"], "click_one");
    let modal = json!({"id":"2","type":5,"channel_id":"c","data":{"custom_id":"m"}});
    assert_eq!(
        parse_event(&adapter(), &modal.to_string()).event.kind(),
        &EventKind::Other("modal_submit".into())
    );
    let autocomplete = json!({"id":"3","type":4,"channel_id":"c","data":{"name":"x"}});
    match adapter()
        .parse(Verified::stored(Bytes::from(autocomplete.to_string())))
        .expect("parses")
    {
        Parsed::Answer { body, .. } => {
            let answer: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(answer["type"], 8);
        }
        other => panic!("expected an answer, got {other:?}"),
    }
}

#[test]
fn broken_interactions_are_400_naming_the_field() {
    for (body, message) in [
        (r#"{"type":2}"#, "missing field `id`"),
        (
            r#"{"id":"1","type":"two"}"#,
            "field `type` has the wrong type",
        ),
        (
            r#"{"id":"1","type":2,"data":{"name":"x"}}"#,
            "missing field `channel_id`",
        ),
    ] {
        let refused = adapter()
            .parse(Verified::stored(Bytes::copy_from_slice(body.as_bytes())))
            .expect_err(body);
        assert_eq!(
            (refused.status.as_u16(), refused.message.as_ref()),
            (400, message)
        );
    }
}

#[test]
fn answers_in_the_response() {
    let command = parse_event(&adapter(), COMMAND);
    let answer = |inbound: &Inbound, reply: &Reply| -> Value {
        serde_json::from_slice(&adapter().render_to(inbound, reply, None)).expect("json")
    };
    assert_eq!(
        answer(&command, &Reply::text("hello")),
        json!({"type": 4, "data": {"content": "hello"}})
    );
    let long = answer(&command, &Reply::text("é".repeat(TEXT_LIMIT + 5)));
    assert_eq!(
        long["data"]["content"].as_str().map(|t| t.chars().count()),
        Some(TEXT_LIMIT)
    );
    // Nothing to say: a deferral only the user sees; to a button, an acknowledgement.
    assert_eq!(
        answer(&command, &Reply::none()),
        json!({"type": 5, "data": {"flags": 64}})
    );
    let button = parse_event(&adapter(), BUTTON);
    assert_eq!(answer(&button, &Reply::none()), json!({"type": 6}));
    assert_eq!(adapter().no_op().as_ref(), br#"{"type":5}"#);
}

#[test]
fn settings_mount_a_channel_and_name_what_is_wrong() {
    let configure = |pairs: &[(&str, &str)]| configure(&Discord, pairs);
    assert!(configure(&[]).expect("no error").is_none());
    let bare = configure(&[("public_key", PUBLIC_KEY)])
        .expect("valid")
        .expect("mounted");
    assert!(bare.outbox().is_none());
    assert_eq!(
        (bare.mode(), bare.deadline()),
        (Mode::InResponse, DEFAULT_DEADLINE)
    );
    let error = configure(&[("public_key", "xyz")]).expect_err("refused");
    assert!(error.to_string().contains("public_key"), "{error}");
    #[cfg(feature = "send-api")]
    {
        let following = configure(&[
            ("public_key", PUBLIC_KEY),
            ("application_id", "290926444748734465"),
            ("api_base", "http://127.0.0.1:9"),
            ("tolerance", "10m"),
        ])
        .expect("valid")
        .expect("mounted");
        assert!(following.outbox().is_some_and(|o| !o.speaks_first()));
        let error = configure(&[("public_key", PUBLIC_KEY), ("application_id", "app-1")])
            .expect_err("refused");
        assert!(error.to_string().contains("application_id"), "{error}");
        let error = configure(&[("public_key", PUBLIC_KEY), ("api_base", "http://x")])
            .expect_err("refused");
        assert!(error.to_string().contains("application_id"), "{error}");
    }
}
