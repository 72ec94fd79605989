//! Per-channel address allowlists over real TCP. Forwarding headers count only when the peer is
//! a trusted proxy: a client cannot talk its way in by writing `X-Forwarded-For` itself.

use std::net::SocketAddr;

use botwire::{Server, Settings};
use botwire_testkit::{TestResponse, funtek, tcp};
use http::StatusCode;

const TOKEN: &str = "allowlist-token";

async fn start(env: &[(&str, &str)]) -> botwire::Running {
    let env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([
            ("BOTWIRE_FUNTEK_TOKEN".to_owned(), TOKEN.to_owned()),
            botwire_e2e::in_memory(),
        ]);
    let settings = Settings::from_sources(None, env).expect("valid settings");
    Server::from_settings(settings)
        .expect("mounts")
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_admin()
        .bot(echo_bot::bot().expect("bot"))
        .bind()
        .await
        .expect("starts")
}

/// A good delivery from this test (127.0.0.1), with these forwarding headers.
async fn deliver(addr: SocketAddr, forwarded: &[(&str, &str)]) -> TestResponse {
    let mut request =
        funtek::Signer::token(TOKEN).request("/webhooks/funtek", funtek::message("hi"));
    for (name, value) in forwarded {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("a name"),
            value.parse().expect("a value"),
        );
    }
    tcp::send(addr, request).await.expect("answered")
}

fn assert_forbidden(response: &TestResponse, why: &str) {
    assert_eq!(
        response.status,
        StatusCode::FORBIDDEN,
        "{why}: {}",
        response.text()
    );
    assert_eq!(response.json()["error"], "forbidden_address", "{why}");
}

#[tokio::test]
async fn only_listed_addresses_deliver_and_spoofed_headers_are_ignored() {
    let server = start(&[("BOTWIRE_FUNTEK_ALLOW_FROM", "203.0.113.0/24")]).await;
    let addr = server.local_addr();
    assert_forbidden(&deliver(addr, &[]).await, "loopback is not listed");
    // No trusted proxy is configured: the peer's own claims do not count.
    assert_forbidden(
        &deliver(addr, &[("x-forwarded-for", "203.0.113.5")]).await,
        "spoofed X-Forwarded-For",
    );
    assert_forbidden(
        &deliver(addr, &[("forwarded", "for=203.0.113.5")]).await,
        "spoofed Forwarded",
    );
    server.shutdown().await;

    let server = start(&[("BOTWIRE_FUNTEK_ALLOW_FROM", "127.0.0.1, ::1")]).await;
    assert_eq!(
        deliver(server.local_addr(), &[]).await.status,
        StatusCode::OK
    );
    server.shutdown().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_checked() {
    let server = start(&[
        ("BOTWIRE_FUNTEK_ALLOW_FROM", "203.0.113.0/24"),
        ("BOTWIRE_TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .await;
    let addr = server.local_addr();
    // This test plays the proxy: what it forwarded for is what counts.
    let via_proxy = deliver(addr, &[("x-forwarded-for", "203.0.113.5")]).await;
    assert_eq!(via_proxy.status, StatusCode::OK, "{}", via_proxy.text());
    let forwarded = deliver(addr, &[("forwarded", "for=\"203.0.113.77:4711\"")]).await;
    assert_eq!(forwarded.status, StatusCode::OK, "{}", forwarded.text());
    // A client that prepends a listed address to its own still shows up as itself.
    assert_forbidden(
        &deliver(addr, &[("x-forwarded-for", "203.0.113.5, 198.51.100.1")]).await,
        "a prepended address",
    );
    assert_forbidden(&deliver(addr, &[]).await, "the proxy itself is not listed");
    assert_forbidden(
        &deliver(addr, &[("x-forwarded-for", "unknown")]).await,
        "an unusable chain",
    );
    server.shutdown().await;
}

#[test]
fn malformed_addresses_name_their_setting() {
    for (variable, value) in [
        ("BOTWIRE_FUNTEK_ALLOW_FROM", "203.0.113.0/33"),
        ("BOTWIRE_TRUSTED_PROXIES", "proxy.internal"),
    ] {
        let env = [
            (variable.to_owned(), value.to_owned()),
            botwire_e2e::in_memory(),
        ];
        let error = Settings::from_sources(None, env).unwrap_err().to_string();
        assert!(
            error.contains(variable) && error.contains("not an address or a CIDR block"),
            "{error}"
        );
    }
}

/// In process, the caller says where a request comes from with `PeerAddr`, as a listener (or
/// an embedder's, from axum's `ConnectInfo`) does; without it, an allowlisted channel refuses.
#[tokio::test]
async fn in_process_the_peer_address_is_the_callers_to_set() {
    let env = [
        ("BOTWIRE_FUNTEK_TOKEN".to_owned(), TOKEN.to_owned()),
        (
            "BOTWIRE_FUNTEK_ALLOW_FROM".to_owned(),
            "203.0.113.0/24".to_owned(),
        ),
        botwire_e2e::in_memory(),
    ];
    let settings = Settings::from_sources(None, env).expect("valid settings");
    let app = Server::from_settings(settings)
        .expect("mounts")
        .bot(echo_bot::bot().expect("bot"))
        .into_app()
        .expect("an app");
    let signed = || funtek::Signer::token(TOKEN).request("/webhooks/funtek", funtek::message("hi"));

    let unknown = botwire_testkit::TestClient::new(app.clone());
    assert_forbidden(&unknown.send(signed()).await, "no peer address");
    let outsider = unknown
        .clone()
        .from_peer(SocketAddr::from(([198, 51, 100, 1], 4000)));
    assert_forbidden(&outsider.send(signed()).await, "not listed");
    let listed = unknown.from_peer(SocketAddr::from(([203, 0, 113, 9], 4000)));
    let answered = listed.send(signed()).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(answered.json()["data"]["message"], "hi");
}
