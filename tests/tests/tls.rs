//! TLS on the webhook listener, with a self-signed certificate made here: HTTP/1.1 and HTTP/2
//! by ALPN, plain HTTP refused without harm, and unusable certificate files named at start-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use botwire::{Channel, ServeError, Server};
use botwire_e2e::{PATH, TOKEN, funtek as funtek_adapter};
use botwire_testkit::funtek;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A directory of its own for this test's files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "botwire-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }

    fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("written");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate for 127.0.0.1 and localhost: (cert PEM, key PEM, cert DER).
fn self_signed() -> (String, String, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("a certificate");
    (
        made.cert.pem(),
        made.signing_key.serialize_pem(),
        made.cert.der().clone(),
    )
}

fn server(cert: PathBuf, key: PathBuf) -> Server {
    Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .channel(Channel::new(
            "funtek",
            funtek_adapter(std::time::Duration::from_secs(5)),
        ))
        .bot(echo_bot::bot().expect("bot"))
        .tls(cert, key)
}

async fn connect(
    addr: SocketAddr,
    trusted: &CertificateDer<'static>,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).expect("a root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("a name");
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("the handshake succeeds")
}

/// The sample bot echoed `text`.
async fn assert_echoed(response: http::Response<hyper::body::Incoming>, text: &str) {
    assert_eq!(response.status(), StatusCode::OK);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    assert!(String::from_utf8_lossy(&body).contains(text));
}

#[tokio::test]
async fn deliveries_over_tls_on_http1_and_http2() {
    let scratch = Scratch::new();
    let (cert, key, der) = self_signed();
    let running = server(
        scratch.write("cert.pem", &cert),
        scratch.write("key.pem", &key),
    )
    .bind()
    .await
    .expect("starts with TLS");
    let addr = running.local_addr();

    // HTTP/1.1.
    let tls = connect(addr, &der, b"http/1.1").await;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("HTTP/1.1 handshake");
    tokio::spawn(connection);
    let mut request = funtek::Signer::token(TOKEN).request(PATH, funtek::message("over h1"));
    request
        .headers_mut()
        .insert(http::header::HOST, "127.0.0.1".parse().expect("a value"));
    let response = sender.send_request(request).await.expect("answered");
    assert_echoed(response, "over h1").await;

    // HTTP/2, chosen by ALPN.
    let tls = connect(addr, &der, b"h2").await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut request = funtek::Signer::token(TOKEN).request(PATH, funtek::message("over h2"));
    *request.uri_mut() = format!("https://127.0.0.1{}", request.uri())
        .parse()
        .expect("a uri");
    let response = sender.send_request(request).await.expect("answered");
    assert_echoed(response, "over h2").await;

    // Plain HTTP on the TLS port gets no answer, and the server goes on.
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"POST /webhooks/funtek HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .expect("written");
    let mut received = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut received).await;
    assert!(!String::from_utf8_lossy(&received).contains("HTTP/1.1 200"));
    let again = connect(addr, &der, b"http/1.1").await;
    drop(again);
    running.shutdown().await;
}

#[tokio::test]
async fn unusable_certificate_files_are_named_at_start_up() {
    let scratch = Scratch::new();
    let (cert, key, _) = self_signed();
    let (_, other_key, _) = self_signed();
    let cert_path = scratch.write("cert.pem", &cert);
    let key_path = scratch.write("key.pem", &key);
    let cases = [
        (
            scratch.0.join("missing.pem"),
            key_path.clone(),
            "missing.pem",
        ),
        (
            scratch.write("empty.pem", ""),
            key_path.clone(),
            "empty.pem",
        ),
        (
            cert_path.clone(),
            scratch.write("garbage.pem", "not a key"),
            "garbage.pem",
        ),
        (
            cert_path.clone(),
            scratch.write("other.pem", &other_key),
            "other.pem",
        ),
    ];
    for (cert, key, named) in cases {
        let error = server(cert, key)
            .bind()
            .await
            .expect_err("refuses to start");
        assert!(matches!(error, ServeError::Tls(_)), "{error}");
        let shown = error.to_string();
        assert!(shown.contains(named), "{shown}");
        assert!(
            !shown.contains("PRIVATE KEY"),
            "never the key itself: {shown}"
        );
    }
}
