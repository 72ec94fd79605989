//! The configuration path end to end: TOML plus environment variables, through
//! `Server::from_settings`, to a running server that routes and verifies as configured.

use botwire::{Server, Settings};
use botwire_testkit::funtek::{self, Signer};
use botwire_testkit::tcp;
use http::StatusCode;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const FILE: &str = r#"
listen = "127.0.0.1:8080"

[limits]
body_bytes = 4096

[channels.shop]
platform = "funtek"
path = "/hooks/shop"
token = "shop-token-from-file"

[channels.support]
platform = "funtek"
path = "/hooks/support"
token = "support-token"

[channels.unset]
platform = "funtek"
path = "/hooks/unset"
"#;

#[tokio::test]
async fn toml_and_env_mount_two_accounts_of_one_platform() {
    let settings = Settings::from_sources(
        Some(("botwire.toml", FILE)),
        env(&[
            ("BOTWIRE_LISTEN", "127.0.0.1:0"),
            // The environment wins over the file: the shop's token is rotated here.
            ("BOTWIRE_SHOP_TOKEN", "shop-new,shop-token-from-file"),
        ]),
    )
    .expect("valid settings");
    let server = Server::from_settings(settings).expect("channels configure");
    let paths: Vec<&str> = server.channels().iter().map(|c| c.path()).collect();
    assert_eq!(
        paths,
        ["/hooks/shop", "/hooks/support"],
        "no secret, no mount"
    );

    let running = server
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("binds");
    let addr = running.local_addr();
    let send = |path: &'static str, token: &'static str| async move {
        let request = Signer::token(token).request(path, funtek::message("hello"));
        tcp::send(addr, request).await.expect("answered")
    };

    assert_eq!(send("/hooks/shop", "shop-new").await.status, StatusCode::OK);
    assert_eq!(
        send("/hooks/shop", "shop-token-from-file").await.status,
        StatusCode::OK
    );
    assert_eq!(
        send("/hooks/support", "support-token").await.json()["data"]["message"],
        "hello"
    );
    // Each account accepts only its own token.
    assert_eq!(
        send("/hooks/shop", "support-token").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send("/hooks/unset", "anything").await.status,
        StatusCode::NOT_FOUND
    );

    // The file's body limit holds.
    let big = funtek::message(&"x".repeat(5000));
    let too_large = tcp::send(
        addr,
        Signer::token("support-token").request("/hooks/support", big),
    )
    .await
    .expect("answered");
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    running.shutdown().await;
}

#[test]
fn a_malformed_setting_stops_start_up_without_echoing_secrets() {
    let error = Settings::from_sources(
        None,
        env(&[
            ("BOTWIRE_FUNTEK_TOKEN", "hunter2-secret"),
            ("BOTWIRE_FUNTEK_DEADLINE", "soon"),
        ]),
    )
    .and_then(Server::from_settings)
    .expect_err("a bad deadline is refused");
    let message = error.to_string();
    assert!(message.contains("BOTWIRE_FUNTEK_DEADLINE"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}
