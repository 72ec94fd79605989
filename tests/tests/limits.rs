//! Read limits over real TCP: a client that stalls in the head or the body loses its connection
//! or gets 408, and the server keeps answering others.

use std::time::Duration;

use botwire::Limits;
use botwire_e2e::{PATH, TOKEN, start};
use botwire_testkit::funtek::{self, Signer};
use botwire_testkit::tcp;
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEADLINE: Duration = Duration::from_secs(5);
/// Only a guard against a hung test; the server's own timeouts are far shorter.
const HANG_GUARD: Duration = Duration::from_secs(30);

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

    let answered = tcp::send(
        addr,
        Signer::token(TOKEN).request(PATH, funtek::message("hi")),
    )
    .await
    .expect("answered");
    assert_eq!(answered.status, StatusCode::OK);
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

    let answered = tcp::send(
        addr,
        Signer::token(TOKEN).request(PATH, funtek::message("hi")),
    )
    .await
    .expect("answered");
    assert_eq!(answered.status, StatusCode::OK);
}
