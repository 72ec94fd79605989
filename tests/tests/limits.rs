//! Connection limits over real TCP: clients that stall in the head or the body, heads too large,
//! idle connections, more connections than allowed, HTTP/2 stream limits and rapid reset. After
//! each, the server keeps answering others.

use std::time::Duration;

use botwire::Limits;
use botwire_e2e::{PATH, TOKEN, start};
use botwire_testkit::funtek::{self, Signer};
use botwire_testkit::raw::{self, Framing};
use botwire_testkit::tcp;
use http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(5);
/// Only a guard against a hung test; the server's own timeouts are far shorter.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A good delivery.
fn hi() -> http::Request<http_body_util::Full<bytes::Bytes>> {
    Signer::token(TOKEN).request(PATH, funtek::message("hi"))
}

/// The server still answers a good delivery.
async fn assert_serves(addr: std::net::SocketAddr) {
    let answered = tcp::send(addr, hi()).await.expect("answered");
    assert_eq!(answered.status, StatusCode::OK);
}

fn short_reads() -> Limits {
    Limits::default()
        .with_header_timeout(Duration::from_millis(200))
        .with_body_timeout(Duration::from_millis(200))
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(HANG_GUARD, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("the read succeeds");
    received
}

#[tokio::test]
async fn a_client_stalling_in_the_head_is_disconnected() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, short_reads()).await;
    let addr = server.local_addr();

    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(format!("POST {PATH}?token={TOKEN} HTTP/1.1\r\nHost: x\r\n").as_bytes())
        .await
        .expect("write a partial head");
    // The head never ends: the server gives up on it and closes without running anything.
    let received = read_to_close(&mut slow).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        received.is_empty() || text.starts_with("HTTP/1.1 408"),
        "closed without a normal answer, got {text:?}"
    );

    assert_serves(addr).await;
}

#[tokio::test]
async fn a_client_stalling_in_the_body_gets_408() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, short_reads()).await;
    let addr = server.local_addr();

    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {PATH}?token={TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"roomID\":"
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let received = read_to_close(&mut slow).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "got {text:?}");
    assert!(text.contains(r#""error":"body_timeout""#), "got {text:?}");

    assert_serves(addr).await;
}

/// A partial request head that never ends.
fn partial_head() -> String {
    format!("POST {PATH}?token={TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
}

#[tokio::test]
async fn a_slowloris_client_is_cut_off_while_others_are_served() {
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, short_reads()).await;
    let addr = server.local_addr();

    // One byte per tick: the whole head would take seconds; the server allows 200 ms.
    let head = partial_head() + "\r\n";
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let trickle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(50));
        for byte in head.bytes() {
            ticks.tick().await;
            if slow.write_all(&[byte]).await.is_err() {
                return false;
            }
            // The server closing shows up as a readable EOF before a write fails.
            let mut probe = [0u8; 1];
            if let Ok(Ok(0)) = tokio::time::timeout(Duration::ZERO, slow.read(&mut probe)).await {
                return false;
            }
        }
        true
    });

    assert_serves(addr).await;
    let finished_head = tokio::time::timeout(HANG_GUARD, trickle)
        .await
        .expect("the trickle ends")
        .expect("the trickle task");
    assert!(
        !finished_head,
        "the server let a one-byte-per-tick head finish"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn heads_too_large_or_with_too_many_headers_get_431() {
    let limits = Limits::default()
        .with_header_bytes(8 * 1024)
        .with_max_headers(16);
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, limits).await;
    let addr = server.local_addr();

    let mut long = hi();
    long.headers_mut().insert(
        "x-padding",
        "a".repeat(9 * 1024).parse().expect("a header value"),
    );
    let mut many = hi();
    for i in 0..20 {
        many.headers_mut().insert(
            http::HeaderName::from_bytes(format!("x-h{i}").as_bytes()).expect("a name"),
            "1".parse().expect("a value"),
        );
    }
    for (name, request) in [("a 9 KiB header", long), ("20 headers", many)] {
        let bytes = raw::encode(request, Framing::Length).await;
        let response = raw::exchange(addr, bytes).await.expect("answered");
        assert_eq!(
            response.status,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{name}"
        );
    }

    assert_serves(addr).await;
    server.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_closed_over_http1_and_http2() {
    let limits = Limits::default()
        .with_header_timeout(HANG_GUARD)
        .with_idle_timeout(Duration::from_millis(200));
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, limits).await;
    let addr = server.local_addr();

    // HTTP/1.1 keep-alive: one request, then the connection sits idle until the server closes it.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    let driver = tokio::spawn(connection);
    let mut request = hi();
    request
        .headers_mut()
        .insert(http::header::HOST, "x".parse().expect("a value"));
    let response = sender.send_request(request).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);
    tokio::time::timeout(HANG_GUARD, driver)
        .await
        .expect("the server closes the idle HTTP/1 connection")
        .expect("the driver task")
        .expect("closed cleanly");

    // HTTP/2: the idle connection gets a GOAWAY and ends.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("handshake");
    let driver = tokio::spawn(connection);
    let mut request = hi();
    *request.uri_mut() = format!("http://{addr}{}", request.uri())
        .parse()
        .expect("a uri");
    let response = sender.send_request(request).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);
    tokio::time::timeout(HANG_GUARD, driver)
        .await
        .expect("the server closes the idle HTTP/2 connection")
        .expect("the driver task")
        .expect("closed cleanly");
    server.shutdown().await;
}

#[tokio::test]
async fn connections_past_the_limit_wait_and_are_served() {
    let limits = short_reads().with_max_connections(2);
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, limits).await;
    let addr = server.local_addr();

    // Two stalled clients take both slots...
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(partial_head().as_bytes())
            .await
            .expect("write a partial head");
        stalled.push(stream);
    }
    // ...so this one waits in the backlog until the header timeout frees a slot, then is served.
    let answered = tokio::time::timeout(HANG_GUARD, tcp::send(addr, hi()))
        .await
        .expect("served once a slot frees")
        .expect("answered");
    assert_eq!(answered.status, StatusCode::OK);
    for mut stream in stalled {
        read_to_close(&mut stream).await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn http2_streams_past_the_limit_queue_and_rapid_reset_is_survived() {
    let limits = Limits::default().with_max_streams(2);
    let server = start(echo_bot::bot().expect("bot"), DEADLINE, limits).await;
    let addr = server.local_addr();
    let uri = format!("http://{addr}{PATH}?token={TOKEN}");

    // Ten requests at once on one connection that allows two streams: all are answered.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(stream).await.expect("handshake");
    tokio::spawn(connection);
    // The first answer comes after the server's SETTINGS, so the client knows the limit: it
    // holds streams past it back rather than having them refused.
    let (first, mut send) = client
        .clone()
        .ready()
        .await
        .expect("ready")
        .send_request(http::Request::post(&uri).body(()).expect("request"), false)
        .expect("sent");
    send.send_data(funtek::message("first").body(), true)
        .expect("body sent");
    assert_eq!(first.await.expect("answered").status(), StatusCode::OK);
    let mut answers = Vec::new();
    for i in 0..10 {
        let mut client = client.clone().ready().await.expect("ready");
        let body = funtek::message(&format!("stream {i}")).body();
        let request = http::Request::post(&uri).body(()).expect("request");
        let (response, mut send) = client.send_request(request, false).expect("sent");
        send.send_data(body, true).expect("body sent");
        answers.push(response);
    }
    for response in answers {
        let response = tokio::time::timeout(HANG_GUARD, response)
            .await
            .expect("answered in time")
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Rapid reset: open streams and cancel them at once, over and over.
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(stream).await.expect("handshake");
    let driver = tokio::spawn(connection);
    for _ in 0..1000 {
        let Ok(mut ready) = client.clone().ready().await else {
            break; // the server sent GOAWAY
        };
        let request = http::Request::post(&uri).body(()).expect("request");
        match ready.send_request(request, false) {
            Ok((_, mut send)) => send.send_reset(h2::Reason::CANCEL),
            Err(_) => break,
        }
    }
    drop(client);
    let _ = tokio::time::timeout(HANG_GUARD, driver).await;

    let answered = tcp::send_h2(
        addr,
        Signer::token(TOKEN).request(PATH, funtek::message("after the reset flood")),
    )
    .await
    .expect("answered");
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.json()["data"]["message"], "after the reset flood");
    server.shutdown().await;
}
