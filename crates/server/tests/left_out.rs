//! Settings that need a cargo feature this build leaves out are refused by name, never
//! ignored; with the feature they are taken. Each test holds in both builds: CI runs this file
//! once with every feature (the workspace's tests) and once with only `kamigo`.

use botwire_server::config::{ConfigError, Settings};
use botwire_server::{ServeError, Server};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Whether a server takes these variables.
fn configure(pairs: &[(&str, &str)]) -> Result<(), ConfigError> {
    let settings = Settings::from_sources(None, env(pairs)).expect("the settings parse");
    Server::new().configure(settings).map(drop)
}

/// The text of `result`'s error, which must name `setting` and `feature` and no value.
fn refused<T>(result: Result<T, impl std::fmt::Display>, setting: &str, feature: &str) -> String {
    let Err(error) = result else {
        panic!("{setting} was taken by a build without the `{feature}` feature");
    };
    let text = error.to_string();
    assert!(text.contains(setting), "names the setting: {text}");
    assert!(
        text.contains(&format!("`{feature}` cargo feature")),
        "names the feature: {text}"
    );
    text
}

#[test]
fn a_redis_store_needs_the_redis_feature() {
    let url = "redis://:hunter2@127.0.0.1:6379/0";
    let result = configure(&[("BOTWIRE_STORE", url)]);
    if cfg!(feature = "redis") {
        result.expect("taken: the store is connected only when the server is built");
    } else {
        let text = refused(result, "store", "redis");
        assert!(!text.contains("hunter2"), "never the URL: {text}");
    }
}

#[test]
fn an_embedded_store_needs_the_embedded_feature() {
    let result = configure(&[("BOTWIRE_STORE", "embedded")]);
    if cfg!(feature = "embedded") {
        result.expect("taken: the file is opened only when the server is built");
    } else {
        refused(result, "store", "embedded");
    }
}

#[test]
fn without_the_embedded_feature_the_default_store_is_memory() {
    let settings = Settings::from_sources(None, env(&[])).expect("parses");
    let expected = if cfg!(feature = "embedded") {
        "Embedded"
    } else {
        "Memory"
    };
    assert!(
        format!("{:?}", settings.store).starts_with(expected),
        "{:?}",
        settings.store
    );
    let configured = Server::new().configure(settings).map(drop);
    configured.expect("the default store is always one this build has");
}

#[test]
fn an_outbox_url_needs_the_send_api_feature() {
    let result = configure(&[
        ("BOTWIRE_KAMIGO_SECRET", "kamigo-secret"),
        (
            "BOTWIRE_KAMIGO_OUTBOX_URL",
            "http://127.0.0.1:9/replies?key=k1",
        ),
        (
            "BOTWIRE_KAMIGO_OUTBOX_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
    ]);
    if cfg!(feature = "send-api") {
        result.expect("taken: replies go to the URL");
    } else {
        let text = refused(result, "BOTWIRE_KAMIGO_OUTBOX_URL", "send-api");
        assert!(!text.contains("k1"), "never the URL: {text}");
    }
}

#[tokio::test]
async fn tls_needs_the_tls_feature() {
    let dir = std::env::temp_dir().join(format!("botwire-left-out-{}", std::process::id()));
    let cert = dir.join("absent-cert.pem");
    let result = Server::new()
        .listen("127.0.0.1:0".parse().expect("an address"))
        .without_admin()
        .tls(&cert, dir.join("absent-key.pem"))
        .bind()
        .await;
    let Err(ServeError::Tls(error)) = result else {
        panic!("a listener asked for TLS must not start without it");
    };
    let text = error.to_string();
    assert!(text.contains("absent-cert.pem"), "names the file: {text}");
    if !cfg!(feature = "tls") {
        assert!(text.contains("`tls` cargo feature"), "{text}");
    }
}
