//! The admin listener's credentials: with a token set, every endpoint but `/healthz` and the
//! page's files needs it as `Authorization: Bearer`; without one, it may listen only on
//! loopback and answers only requests to a loopback host name. No other site's page may use
//! it through the operator's browser.

use std::net::SocketAddr;
use std::time::Duration;

use botwire::{Channel, Running, ServeError, Server, Settings};
use botwire_e2e::funtek as funtek_adapter;
use botwire_testkit::{TestResponse, tcp};
use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;

const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

/// The sample bot on FUNTEK, its admin endpoints guarded by `tokens` (none: open).
fn server(tokens: &[&str]) -> Server {
    let server = Server::new()
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot().expect("bot"));
    tokens
        .iter()
        .fold(server, |server, token| server.admin_token(*token))
}

async fn start(tokens: &[&str]) -> Running {
    server(tokens)
        .listen(SocketAddr::from((LOOPBACK, 0)))
        .admin(SocketAddr::from((LOOPBACK, 0)))
        .bind()
        .await
        .expect("starts")
}

async fn call(admin: SocketAddr, method: &str, path: &str, token: Option<&str>) -> TestResponse {
    let mut request = http::Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::new())).expect("request");
    tcp::send(admin, request).await.expect("answered")
}

#[tokio::test]
async fn with_a_token_every_endpoint_but_healthz_needs_it() {
    let server = start(&["admin-token-1"]).await;
    let admin = server.admin_addr().expect("an admin listener");
    for (method, path) in [
        ("GET", "/deliveries"),
        ("GET", "/dead-letters"),
        ("GET", "/readyz"),
        ("POST", "/dead-letters/1/replay"),
        ("POST", "/conversations/funtek/room/messages"),
        ("GET", "/conversations/funtek/room"),
        ("GET", "/no-such-page"),
    ] {
        for presented in [None, Some("wrong"), Some("admin-token-1x")] {
            let refused = call(admin, method, path, presented).await;
            assert_eq!(
                refused.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {presented:?}"
            );
            assert_eq!(
                refused
                    .headers
                    .get("www-authenticate")
                    .map(|v| v.as_bytes()),
                Some(&b"Bearer"[..])
            );
            assert!(
                !refused.text().contains("admin-token-1"),
                "{}",
                refused.text()
            );
        }
    }
    let open = call(admin, "GET", "/healthz", None).await;
    assert_eq!(open.status, StatusCode::OK, "probes need no token");
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/assets/page.js", "text/javascript; charset=utf-8"),
        ("/assets/page.css", "text/css; charset=utf-8"),
    ] {
        let page = call(admin, "GET", path, None).await;
        assert_eq!(
            page.status,
            StatusCode::OK,
            "the page holds no data: {path}"
        );
        assert_eq!(page.headers["content-type"], content_type);
        assert!(page.headers.contains_key("content-security-policy"));
        assert!(!page.text().contains("admin-token-1"));
    }
    assert_eq!(
        call(admin, "POST", "/", None).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let allowed = call(admin, "GET", "/deliveries", Some("admin-token-1")).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text());
    assert!(allowed.json()["deliveries"].is_array());
    server.shutdown().await;
}

#[tokio::test]
async fn while_rotating_either_token_is_taken() {
    let server = start(&["old-admin-token", "new-admin-token"]).await;
    let admin = server.admin_addr().expect("an admin listener");
    for token in ["old-admin-token", "new-admin-token"] {
        let allowed = call(admin, "GET", "/dead-letters", Some(token)).await;
        assert_eq!(allowed.status, StatusCode::OK, "{token}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_token_the_loopback_listener_is_open() {
    let server = start(&[]).await;
    let admin = server.admin_addr().expect("an admin listener");
    assert_eq!(
        call(admin, "GET", "/deliveries", None).await.status,
        StatusCode::OK
    );
    server.shutdown().await;
}

#[tokio::test]
async fn beyond_loopback_without_a_token_the_server_refuses_to_start() {
    let result = Server::new()
        .listen(SocketAddr::from((LOOPBACK, 0)))
        .admin(SocketAddr::from(([0, 0, 0, 0], 0)))
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await;
    let Err(error) = result else {
        panic!("an unprotected admin listener on 0.0.0.0 must not start");
    };
    assert!(matches!(error, ServeError::AdminUnprotected(_)), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("BOTWIRE_ADMIN_TOKEN"),
        "names the setting: {text}"
    );
    assert!(text.contains("0.0.0.0"), "names the address: {text}");
}

#[test]
fn the_setting_takes_several_tokens_and_never_prints_them() {
    let env = [
        ("BOTWIRE_ADMIN_TOKEN".to_owned(), "tok-a, tok-b".to_owned()),
        ("BOTWIRE_STORE".to_owned(), "memory".to_owned()),
    ];
    let settings = Settings::from_sources(None, env).expect("parses");
    assert_eq!(settings.admin_tokens.len(), 2);
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("tok-a") && !shown.contains("tok-b"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_embedded_admin_service_checks_the_token_too() {
    let built = Server::new()
        .channel(Channel::new(
            "funtek",
            funtek_adapter(Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot().expect("bot"))
        .admin_token("embedded-admin-token")
        .build()
        .await
        .expect("builds");
    let request = |token: Option<&str>| {
        let mut request = http::Request::get("/deliveries");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Full::new(Bytes::new())).expect("request")
    };
    assert!(built.admin.requires_token());
    let refused = built.admin.handle(request(None)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let allowed = built
        .admin
        .handle(request(Some("embedded-admin-token")))
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    built.engine.shutdown().await;
}

/// The in-process admin service of a server with these admin tokens.
async fn built(tokens: &[&str]) -> botwire::Built {
    server(tokens).build().await.expect("builds")
}

fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Full::new(Bytes::new())).expect("request")
}

#[tokio::test]
async fn another_sites_page_cannot_use_the_operators_browser() {
    for tokens in [&[][..], &["admin-token-1"][..]] {
        let built = built(tokens).await;
        for (method, path) in [("POST", "/dead-letters/1/replay"), ("GET", "/deliveries")] {
            let refused = built
                .admin
                .handle(request(
                    method,
                    path,
                    &[
                        ("host", "127.0.0.1:9090"),
                        ("origin", "http://evil.example"),
                        ("authorization", "Bearer admin-token-1"),
                    ],
                ))
                .await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {path}");
        }
        let own_page = built
            .admin
            .handle(request(
                "GET",
                "/deliveries",
                &[
                    ("host", "127.0.0.1:9090"),
                    ("origin", "http://127.0.0.1:9090"),
                    ("authorization", "Bearer admin-token-1"),
                ],
            ))
            .await;
        assert_eq!(own_page.status(), StatusCode::OK, "its own page may");
        built.engine.shutdown().await;
    }
}

#[tokio::test]
async fn an_open_listener_answers_only_a_loopback_host_name() {
    let built = built(&[]).await;
    // A DNS name rebound to 127.0.0.1 arrives with its own name as the host.
    let rebound = built
        .admin
        .handle(request(
            "GET",
            "/deliveries",
            &[("host", "rebound.example:9090")],
        ))
        .await;
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let body = http_body_util::BodyExt::collect(rebound.into_body())
        .await
        .expect("a body")
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("not_loopback") && text.contains("BOTWIRE_ADMIN_TOKEN"),
        "{text}"
    );
    for host in ["127.0.0.1:9090", "localhost:9090", "[::1]:9090"] {
        let allowed = built
            .admin
            .handle(request("GET", "/deliveries", &[("host", host)]))
            .await;
        assert_eq!(allowed.status(), StatusCode::OK, "{host}");
    }
    let probe = built
        .admin
        .handle(request("GET", "/healthz", &[("host", "10.0.0.7:9090")]))
        .await;
    assert_eq!(probe.status(), StatusCode::OK, "probes come by address");
    built.engine.shutdown().await;

    // With a token, the host name does not matter: the token does.
    let built = self::built(&["admin-token-1"]).await;
    let allowed = built
        .admin
        .handle(request(
            "GET",
            "/deliveries",
            &[
                ("host", "admin.example"),
                ("authorization", "Bearer admin-token-1"),
            ],
        ))
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    built.engine.shutdown().await;
}
