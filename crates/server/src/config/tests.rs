use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn channel<'a>(settings: &'a Settings, name: &str) -> &'a ChannelSpec {
    settings
        .channels
        .iter()
        .find(|c| c.name == name)
        .expect("channel present")
}

#[test]
fn defaults_without_any_setting() {
    let settings = Settings::from_sources(None, env(&[])).expect("valid");
    assert_eq!(settings.listen, DEFAULT_LISTEN.parse().expect("address"));
    assert_eq!(settings.limits, Limits::default());
    assert_eq!(
        settings.store,
        StoreKind::Embedded {
            data_dir: "./botwire-data".into()
        }
    );
    assert!(settings.channels.is_empty());
}

#[test]
fn env_maps_to_server_limits_and_channels() {
    let settings = Settings::from_sources(
        None,
        env(&[
            ("BOTWIRE_LISTEN", "127.0.0.1:0"),
            ("BOTWIRE_BODY_BYTES", "2048"),
            ("BOTWIRE_HEADER_TIMEOUT", "2s"),
            ("BOTWIRE_FUNTEK_TOKEN", "t"),
            ("BOTWIRE_FUNTEK_DEADLINE", "1s"),
            ("BOTWIRE_STORE", "memory"),
            ("BOTWIRE_CONFIG", "ignored-here"),
            ("PATH", "/bin"),
        ]),
    )
    .expect("valid");
    assert_eq!(settings.listen.port(), 0);
    assert_eq!(settings.limits.body_bytes, 2048);
    assert_eq!(settings.limits.header_timeout, Duration::from_secs(2));
    let funtek = channel(&settings, "funtek");
    assert_eq!(
        (funtek.platform.as_str(), funtek.path.as_str()),
        ("funtek", "/webhooks/funtek")
    );
    assert_eq!(funtek.settings.text("token").expect("text"), Some("t"));
    assert_eq!(
        funtek.settings.duration("deadline").expect("duration"),
        Some(Duration::from_secs(1))
    );
}

#[test]
fn file_declares_channels_and_env_wins() {
    let file = r#"
        listen = "127.0.0.1:9000"
        [limits]
        body_bytes = 4096
        max_connections = 8
        header_bytes = 32768
        max_headers = 20
        idle_timeout = "5s"
        [channels.funtek]
        token = "from-file"
        [channels.funtek-eu]
        platform = "funtek"
        path = "/hooks/eu"
        token = ["a", "b"]
    "#;
    let settings = Settings::from_sources(
        Some(("botwire.toml", file)),
        env(&[
            ("BOTWIRE_FUNTEK_TOKEN", "from-env"),
            ("BOTWIRE_FUNTEK_EU_SENDER_ID", "bot1"),
        ]),
    )
    .expect("valid");
    assert_eq!(settings.listen.port(), 9000);
    assert_eq!(settings.limits.body_bytes, 4096);
    assert_eq!(settings.limits.max_connections, 8);
    assert_eq!(settings.limits.header_bytes, 32768);
    assert_eq!(settings.limits.max_headers, 20);
    assert_eq!(settings.limits.idle_timeout, Duration::from_secs(5));
    assert_eq!(
        channel(&settings, "funtek")
            .settings
            .text("token")
            .expect("text"),
        Some("from-env")
    );
    let eu = channel(&settings, "funtek-eu");
    assert_eq!(
        (eu.platform.as_str(), eu.path.as_str()),
        ("funtek", "/hooks/eu")
    );
    assert_eq!(eu.settings.secrets("token").expect("list").len(), 2);
    assert_eq!(eu.settings.text("sender_id").expect("text"), Some("bot1"));
}

#[test]
fn a_redis_url_is_a_store_that_never_prints_its_password() {
    let settings = Settings::from_sources(
        None,
        env(&[
            ("BOTWIRE_STORE", "redis://:hunter2@10.0.0.5:6379/0"),
            ("BOTWIRE_REDIS_PREFIX", "shop-bot"),
        ]),
    )
    .expect("valid");
    let StoreKind::Redis { url, prefix } = &settings.store else {
        panic!("a Redis store: {:?}", settings.store);
    };
    assert_eq!(url.expose(), "redis://:hunter2@10.0.0.5:6379/0");
    assert_eq!(prefix, "shop-bot");
    assert!(!format!("{settings:?}").contains("hunter2"));
    let default_prefix =
        Settings::from_sources(None, env(&[("BOTWIRE_STORE", "rediss://r:6380")])).expect("valid");
    assert!(
        matches!(default_prefix.store, StoreKind::Redis { ref prefix, .. } if prefix == "botwire")
    );
}

#[test]
fn errors_name_the_setting_and_never_the_value() {
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (
            None,
            &[("BOTWIRE_LISTEN", "nowhere")],
            "BOTWIRE_LISTEN: expected an address",
        ),
        (
            None,
            &[("BOTWIRE_STORE", "disk")],
            "BOTWIRE_STORE: expected embedded, memory, or a redis:// URL",
        ),
        (
            None,
            &[("BOTWIRE_BODY_BYTES", "lots")],
            "BOTWIRE_BODY_BYTES: expected a whole number above zero",
        ),
        (
            None,
            &[("BOTWIRE_BODY_BYTES", "0")],
            "BOTWIRE_BODY_BYTES: expected a whole number above zero",
        ),
        (
            None,
            &[("BOTWIRE_TLS_CERT", "/etc/botwire/cert.pem")],
            "tls_key: missing: tls_cert needs it",
        ),
        (
            Some("tls_key = \"/k.pem\""),
            &[],
            "tls_cert: missing: tls_key needs it",
        ),
        (
            None,
            &[("BOTWIRE_HEADER_BYTES", "4096")],
            "BOTWIRE_HEADER_BYTES: must be at least 8192",
        ),
        (
            None,
            &[("BOTWIRE_IDLE_TIMEOUT", "soon")],
            "BOTWIRE_IDLE_TIMEOUT",
        ),
        (
            Some("[channels.idle]\nplatform = \"funtek\""),
            &[],
            "channels.idle: this name is reserved",
        ),
        (
            None,
            &[("BOTWIRE_BODY_TIMEOUT", "0s")],
            "BOTWIRE_BODY_TIMEOUT: must be longer than zero",
        ),
        (
            Some("listen = 5"),
            &[],
            "t.toml: listen: expected an address",
        ),
        (
            Some("listen = true"),
            &[],
            "t.toml: listen: expected a string",
        ),
        (Some("port = 1"), &[], "t.toml: port: unknown setting"),
        (
            Some("[limits]\nbody = 1"),
            &[],
            "t.toml: limits.body: unknown setting",
        ),
        (
            Some("[channels.x]\ntoken = \"s3cr3t\""),
            &[],
            "x.platform: missing",
        ),
        (
            Some("[channels.x]\nplatform = \"nope\""),
            &[],
            "t.toml: channels.x.platform: unknown platform",
        ),
        (
            Some("[channels.x]\nplatform = \"funtek\"\npath = \"rel\""),
            &[],
            "t.toml: channels.x.path: must start with /",
        ),
        (
            Some("[channels.Admin]\nplatform = \"funtek\""),
            &[],
            "channels.Admin: a channel name is lower-case",
        ),
        (
            Some("[channels.admin]\nplatform = \"funtek\""),
            &[],
            "channels.admin: this name is reserved",
        ),
        (
            Some("channels = 3"),
            &[],
            "t.toml: channels: expected a table",
        ),
        (
            Some("[channels.funtek]\ntoken = 1.5"),
            &[],
            "t.toml: channels.funtek.token: expected a string",
        ),
        (
            Some("[channels.funtek]\ntoken = [true]"),
            &[],
            "t.toml: channels.funtek.token: expected a list of strings or numbers",
        ),
        (Some("not = [toml"), &[], "t.toml is not valid TOML"),
    ];
    for (file, vars, expected) in cases {
        let err = Settings::from_sources(file.map(|text| ("t.toml", text)), env(vars)).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.contains(expected),
            "{shown:?} should contain {expected:?}"
        );
        assert!(!shown.contains("s3cr3t"));
    }
}

#[test]
fn metrics_open_is_a_flag_off_by_default() {
    let settings = Settings::from_sources(None, env(&[])).expect("valid");
    assert!(!settings.metrics_open);
    let open =
        Settings::from_sources(None, env(&[("BOTWIRE_METRICS_OPEN", "true")])).expect("valid");
    assert!(open.metrics_open);
    let error = Settings::from_sources(None, env(&[("BOTWIRE_METRICS_OPEN", "sometimes")]))
        .expect_err("not a flag");
    assert!(error.to_string().contains("METRICS_OPEN"), "{error}");
    let toml = Settings::from_sources(Some(("botwire.toml", "metrics_open = true")), env(&[]))
        .expect("valid");
    assert!(toml.metrics_open);
}
