//! The Teams platform of this example, mounted the ways a user mounts one — a TOML file, the
//! `BOTWIRE_*` variables of a running process — and driven with signed deliveries.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use botwire::platforms::Platforms;
use botwire::platforms::auth::HmacKeys;
use botwire::{Server, Settings};
use botwire_testkit::bot_process::BotProcess;
use botwire_testkit::{TestClient, TestResponse, tcp};
use bytes::Bytes;
use custom_platform::Teams;
use http::{Request, StatusCode};
use http_body_util::Full;

/// The security token Teams shows when an outgoing webhook is created: base64 of its key.
const TOKEN: &str = "c2FtcGxlLXRlYW1zLXNlY3VyaXR5LXRva2VuLTEyMzQ=";
const THREAD: &str = "19:253b1f341670408fb6fcb1f5a3a2e3d9@thread.skype;messageid=1485983408511";

/// An activity as Teams posts it when `Echo` is @mentioned (the shape of Microsoft's sample).
fn mention(id: &str, text: &str) -> String {
    serde_json::json!({
        "type": "message",
        "id": id,
        "timestamp": "2026-12-03T09:10:07.437Z",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
        "channelId": "msteams",
        "from": {
            "id": "29:1XJKJMvc5GBtc2JwZq0oj8tHZmzrQgFmB39ATiQWA85gQtHieVkKilBZ9XHoq9j7Zaqt7CZ",
            "name": "Tom Smith",
            "aadObjectId": "c33aafeb-a5ef-4ff1-8ca0-5b8fd3b6a9b4"
        },
        "conversation": { "isGroup": true, "id": THREAD, "name": null },
        "textFormat": "plain",
        "text": format!("<at>Echo</at> {text}"),
        "channelData": {
            "teamsChannelId": "19:253b1f341670408fb6fcb1f5a3a2e3d9@thread.skype",
            "teamsTeamId": "19:712c61d0ef384e5fa681ba90ca943398@thread.skype",
            "tenant": { "id": "72f988bf-86f1-41af-91ab-2d7cd011db47" }
        }
    })
    .to_string()
}

/// `body` POSTed to `path`, signed as Teams signs it.
fn signed(path: &str, body: String) -> Request<Full<Bytes>> {
    let key = BASE64.decode(TOKEN).expect("base64");
    let tag = HmacKeys::new([key])
        .sign(&[body.as_bytes()])
        .expect("a key");
    Request::post(path)
        .header("authorization", format!("HMAC {}", BASE64.encode(tag)))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a request")
}

fn platforms() -> Platforms {
    let mut platforms = Platforms::builtin();
    platforms.register(Arc::new(Teams));
    platforms
}

/// The sample bot on the channels `toml` and `vars` configure, in process.
fn client(toml: Option<&str>, vars: &[(&str, &str)]) -> TestClient {
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let settings = Settings::from_sources_with(toml.map(|t| ("bot.toml", t)), vars, &platforms())
        .expect("valid settings");
    let app = Server::new()
        .platform(Teams)
        .configure(settings)
        .expect("a server")
        .bot(echo_bot::bot().expect("the sample bot"))
        .into_app()
        .expect("an app");
    TestClient::new(app)
}

fn text_of(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["type"], "message");
    response.json()["text"].as_str().expect("text").to_owned()
}

const TOML: &str = r#"
store = "memory"

[channels.support]
platform = "teams"
path = "/hooks/support"
token = "c2FtcGxlLXRlYW1zLXNlY3VyaXR5LXRva2VuLTEyMzQ="
"#;

#[tokio::test]
async fn a_channel_from_toml_echoes_learns_and_answers_in_the_thread() {
    let client = client(Some(TOML), &[]);
    let path = "/hooks/support";
    assert_eq!(
        text_of(&client.send(signed(path, mention("1", "hello"))).await),
        "hello"
    );
    assert_eq!(
        text_of(&client.send(signed(path, mention("2", "teach"))).await),
        echo_bot::TEACH_PROMPT
    );
    assert_eq!(
        text_of(
            &client
                .send(signed(path, mention("3", "ping => pong")))
                .await
        ),
        "Got it: \"ping\" => \"pong\""
    );
    assert_eq!(
        text_of(&client.send(signed(path, mention("4", "ping"))).await),
        "pong"
    );
}

#[tokio::test]
async fn a_channel_from_variables_is_mounted_at_the_platform_id() {
    let client = client(
        None,
        &[("BOTWIRE_TEAMS_TOKEN", TOKEN), ("BOTWIRE_STORE", "memory")],
    );
    let answer = client
        .send(signed("/webhooks/teams", mention("1", "hi")))
        .await;
    assert_eq!(text_of(&answer), "hi");
}

#[tokio::test]
async fn a_resent_delivery_gets_the_first_answer_without_running_the_bot_again() {
    let client = client(Some(TOML), &[]);
    let first = client
        .send(signed("/hooks/support", mention("7", "teach")))
        .await;
    let again = client
        .send(signed("/hooks/support", mention("7", "teach")))
        .await;
    assert_eq!(again.body, first.body);
    // Had it run twice, the bot would be teaching and prompt again; it echoes instead.
    let next = client
        .send(signed("/hooks/support", mention("8", "cancel")))
        .await;
    assert_eq!(text_of(&next), "OK, never mind.");
}

#[tokio::test]
async fn forged_unsigned_and_malformed_deliveries_are_refused_with_reasons() {
    let client = client(Some(TOML), &[]);
    let mut forged = signed("/hooks/support", mention("1", "hello"));
    forged.headers_mut().insert(
        "authorization",
        "HMAC AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
            .parse()
            .expect("a header"),
    );
    let refused = client.send(forged).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "invalid_signature");

    let mut unsigned = signed("/hooks/support", mention("1", "hello"));
    unsigned.headers_mut().remove("authorization");
    let refused = client.send(unsigned).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json()["error"], "missing_signature");

    let no_sender = r#"{"type":"message","id":"9","text":"hi","conversation":{"id":"c"}}"#;
    let refused = client
        .send(signed("/hooks/support", no_sender.to_owned()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["message"], "missing field `from`");

    let wrong_type = r#"{"type":"message","id":"9","from":{"id":"u"},"conversation":{"id":7}}"#;
    let refused = client
        .send(signed("/hooks/support", wrong_type.to_owned()))
        .await;
    assert_eq!(
        refused.json()["message"],
        "field `conversation.id` has the wrong type"
    );
}

#[tokio::test]
async fn an_activity_that_is_not_a_message_is_acknowledged_with_nothing() {
    let client = client(Some(TOML), &[]);
    let typing = r#"{"type":"typing","id":"5","from":{"id":"u"},"conversation":{"id":"c"}}"#;
    let answer = client
        .send(signed("/hooks/support", typing.to_owned()))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(&answer.body[..], custom_platform::NO_OP);
}

#[test]
fn bad_settings_name_the_key_and_never_the_token() {
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("BOTWIRE_TEAMS_TOKEN", "not base64 s3cr3t!")],
            "BOTWIRE_TEAMS_TOKEN: expected the base64",
        ),
        (
            &[("BOTWIRE_TEAMS_TOKEN", TOKEN), ("BOTWIRE_TEAMS_TOKN", "x")],
            "BOTWIRE_TEAMS_TOKN: unknown setting",
        ),
        (
            &[
                ("BOTWIRE_TEAMS_TOKEN", TOKEN),
                ("BOTWIRE_TEAMS_DEADLINE", "0s"),
            ],
            "BOTWIRE_TEAMS_DEADLINE: must be longer",
        ),
    ];
    for (vars, expected) in cases {
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        let settings = Settings::from_sources_with(None, vars, &platforms()).expect("read");
        let Err(error) = Server::new().platform(Teams).configure(settings) else {
            panic!("{expected:?}: accepted");
        };
        let shown = error.to_string();
        assert!(
            shown.contains(expected),
            "{shown:?} should contain {expected:?}"
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

#[test]
fn a_server_that_was_not_told_about_teams_says_so() {
    let error = Settings::from_sources(Some(("bot.toml", TOML)), Vec::new()).expect_err("refused");
    let shown = error.to_string();
    assert!(
        shown.contains("bot.toml: channels.support.platform: unknown platform"),
        "{shown}"
    );
    assert!(
        shown.contains("known: funtek, kamigo, chatwork, wechatpadpro"),
        "{shown}"
    );
}

/// The binary, configured only by its environment as a deployment would be, over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_mounts_teams_from_its_environment_and_answers_over_tcp() {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_custom-platform"));
    command
        .env_clear()
        .env("BOTWIRE_LISTEN", "127.0.0.1:0")
        .env("BOTWIRE_ADMIN_LISTEN", "off")
        .env("BOTWIRE_STORE", "memory")
        .env("BOTWIRE_TEAMS_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    let bot = BotProcess::start(command).await.expect("it listens");
    let answer = tcp::send(
        bot.addr,
        signed("/webhooks/teams", mention("1", "over the wire")),
    )
    .await
    .expect("answered");
    assert_eq!(text_of(&answer), "over the wire");
    let refused = tcp::send(bot.addr, {
        let mut r = signed("/webhooks/teams", mention("2", "x"));
        r.headers_mut().remove("authorization");
        r
    })
    .await
    .expect("answered");
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

/// Teams keeps no state, so botwire's store does: when it fails, nothing is answered as if
/// the state had moved, and the delivery can be tried again.
#[tokio::test]
async fn a_state_store_that_fails_fails_the_delivery_and_its_retry_runs_it() {
    use botwire::store::MemoryStateStore;
    use botwire_testkit::faults::{Fault, Faulty};

    let (states, faults) = Faulty::new(MemoryStateStore::default());
    let vars = [("BOTWIRE_TEAMS_TOKEN", TOKEN), ("BOTWIRE_STORE", "memory")];
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let settings = Settings::from_sources_with(None, vars, &platforms()).expect("valid");
    let app = Server::new()
        .platform(Teams)
        .configure(settings)
        .expect("a server")
        .state_store(states)
        .bot(echo_bot::bot().expect("the sample bot"))
        .into_app()
        .expect("an app");
    let client = TestClient::new(app);

    faults.set(Fault::Fail);
    let failed = client
        .send(signed("/webhooks/teams", mention("1", "teach")))
        .await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.text()
    );

    faults.heal();
    let retried = client
        .send(signed("/webhooks/teams", mention("1", "teach")))
        .await;
    assert_eq!(text_of(&retried), echo_bot::TEACH_PROMPT);
    // The move to `teaching` was kept.
    let next = client
        .send(signed("/webhooks/teams", mention("2", "cancel")))
        .await;
    assert_eq!(text_of(&next), "OK, never mind.");

    // The state loads, then its save fails: the reply from `teaching` is not sent either.
    let calls = faults.calls();
    // Fails call `calls + 2`, the second from now.
    faults.set(Fault::FailEvery(calls + 2));
    let failed = client
        .send(signed("/webhooks/teams", mention("3", "teach")))
        .await;
    assert_eq!(
        failed.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        failed.text()
    );
    assert_eq!(faults.calls() - calls, 2, "a load, then the save");
    faults.heal();
    let retried = client
        .send(signed("/webhooks/teams", mention("3", "teach")))
        .await;
    assert_eq!(text_of(&retried), echo_bot::TEACH_PROMPT);
}
