//! The configuration path end to end: TOML plus environment variables, through
//! `Server::from_settings`, to a running server that routes and verifies as configured.

use botwire::{Server, Settings};
use botwire_testkit::funtek::{self, Signer};
use botwire_testkit::tcp;
use http::StatusCode;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    std::iter::once(botwire_e2e::in_memory())
        .chain(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
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
            ("BOTWIRE_ADMIN_LISTEN", "127.0.0.1:0"),
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

#[tokio::test]
async fn all_four_platforms_and_two_chatwork_accounts_from_one_config() {
    use botwire_testkit::chatwork_api::FakeApi;
    use botwire_testkit::outbox::RecordingOutbox;
    use botwire_testkit::{chatwork, kamigo, wechatpadpro};

    let mut api = FakeApi::start().await;
    let (support_token, sales_token) = (
        chatwork::Signer::sample_token(),
        chatwork::Signer::sample_token(),
    );
    let file = format!(
        r#"
[channels.chatwork]
token = "{support_token}"
api_token = "support-api"
api_base = "{base}"

[channels.sales]
platform = "chatwork"
path = "/webhooks/chatwork-sales"
token = "{sales_token}"
api_token = "sales-api"
api_base = "{base}"
"#,
        base = api.base()
    );
    let settings = Settings::from_sources(
        Some(("botwire.toml", &file)),
        env(&[
            ("BOTWIRE_LISTEN", "127.0.0.1:0"),
            ("BOTWIRE_ADMIN_LISTEN", "off"),
            ("BOTWIRE_FUNTEK_TOKEN", "ft"),
            ("BOTWIRE_KAMIGO_SECRET", "ks"),
            ("BOTWIRE_WECHATPADPRO_SECRET", "ws"),
            ("BOTWIRE_WECHATPADPRO_SIGNING", "concat"),
        ]),
    )
    .expect("valid settings");
    let (outbox, mut replies) = RecordingOutbox::new();
    let server = Server::from_settings(settings)
        .expect("channels configure")
        .outbox(outbox);
    let mut paths: Vec<&str> = server.channels().iter().map(|c| c.path()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/webhooks/chatwork",
            "/webhooks/chatwork-sales",
            "/webhooks/funtek",
            "/webhooks/kamigo",
            "/webhooks/wechatpadpro"
        ]
    );
    let running = server
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("binds");
    assert_eq!(running.admin_addr(), None, "the admin listener is off");
    let addr = running.local_addr();
    let send = |request| async move { tcp::send(addr, request).await.expect("answered") };

    let funtek = send(Signer::token("ft").request("/webhooks/funtek", funtek::message("hi"))).await;
    assert_eq!(funtek.json()["data"]["message"], "hi");

    let kamigo =
        kamigo::Signer::new("ks").request("/webhooks/kamigo", kamigo::message("from kamigo"));
    assert_eq!(send(kamigo).await.status, StatusCode::OK);
    assert_eq!(replies.next_text().await, "from kamigo");

    let wechat = wechatpadpro::Signer::new("ws")
        .concat()
        .request("/webhooks/wechatpadpro", wechatpadpro::text("from wechat"));
    assert_eq!(send(wechat).await.status, StatusCode::OK);
    assert_eq!(replies.next_text().await, "from wechat");

    // Each Chatwork account verifies with its own token and replies with its own API token.
    let support = chatwork::Signer::new(&support_token).expect("base64");
    let sales = chatwork::Signer::new(&sales_token).expect("base64");
    let to_support = support.request("/webhooks/chatwork", chatwork::message_created("support"));
    assert_eq!(send(to_support).await.status, StatusCode::OK);
    let posted = api.next_message().await;
    assert_eq!(
        (posted.token.as_str(), posted.body.as_str()),
        ("support-api", "support")
    );
    let to_sales = sales.request(
        "/webhooks/chatwork-sales",
        chatwork::message_created("sales"),
    );
    assert_eq!(send(to_sales).await.status, StatusCode::OK);
    let posted = api.next_message().await;
    assert_eq!(
        (posted.token.as_str(), posted.body.as_str()),
        ("sales-api", "sales")
    );
    let crossed = sales.request("/webhooks/chatwork", chatwork::message_created("x"));
    assert_eq!(send(crossed).await.status, StatusCode::UNAUTHORIZED);
    running.shutdown().await;
}

#[test]
fn queue_and_admin_settings_are_read_and_checked() {
    let settings = Settings::from_sources(
        Some((
            "t.toml",
            "admin_listen = \"127.0.0.1:0\"\n[queue]\nworkers = 4\nretry_base = \"10ms\"",
        )),
        env(&[
            ("BOTWIRE_QUEUE_CAPACITY", "50"),
            ("BOTWIRE_QUEUE_MAX_ATTEMPTS", "2"),
            ("BOTWIRE_QUEUE_TIMER_POLL", "250ms"),
        ]),
    )
    .expect("valid");
    assert_eq!(settings.workers.workers, 4);
    assert_eq!(
        settings.workers.timer_poll,
        std::time::Duration::from_millis(250)
    );
    assert_eq!(settings.workers.capacity, 50);
    assert_eq!(settings.workers.max_attempts, 2);
    assert_eq!(
        settings.workers.retry_base,
        std::time::Duration::from_millis(10)
    );
    assert_eq!(settings.admin.map(|a| a.port()), Some(0));
    let default = Settings::from_sources(None, env(&[])).expect("valid");
    assert_eq!(
        default.admin,
        Some("127.0.0.1:9090".parse().expect("address"))
    );

    for (vars, named) in [
        (
            &[("BOTWIRE_QUEUE_WORKERS", "0")][..],
            "BOTWIRE_QUEUE_WORKERS",
        ),
        (
            &[("BOTWIRE_QUEUE_RETRY_BASE", "soon")][..],
            "BOTWIRE_QUEUE_RETRY_BASE",
        ),
        (
            &[("BOTWIRE_QUEUE_RETRY_MAX", "1ms")][..],
            "BOTWIRE_QUEUE_RETRY_MAX",
        ),
        (
            &[("BOTWIRE_QUEUE_COLOUR", "red")][..],
            "BOTWIRE_QUEUE_COLOUR",
        ),
        (
            &[("BOTWIRE_QUEUE_TIMER_POLL", "0s")][..],
            "BOTWIRE_QUEUE_TIMER_POLL",
        ),
        (
            &[("BOTWIRE_ADMIN_LISTEN", "everywhere")][..],
            "BOTWIRE_ADMIN_LISTEN",
        ),
        (
            &[("BOTWIRE_CHATWORK_TOKEN", "not base64!")][..],
            "BOTWIRE_CHATWORK_TOKEN",
        ),
        (
            &[
                ("BOTWIRE_WECHATPADPRO_SECRET", "s"),
                ("BOTWIRE_WECHATPADPRO_SIGNING", "sha1"),
            ][..],
            "BOTWIRE_WECHATPADPRO_SIGNING",
        ),
    ] {
        let error = Settings::from_sources(None, env(vars))
            .and_then(Server::from_settings)
            .expect_err("refused");
        assert!(error.to_string().contains(named), "{error}");
        assert!(!error.to_string().contains("not base64!"), "{error}");
    }
}
