//! Requests written byte for byte, as a broken or hostile client would write them: bodies
//! framed however the test says (a `Content-Length` that lies, chunks with no length), and
//! responses read back however the server ends the connection.
//!
//! ```no_run
//! # async fn run(addr: std::net::SocketAddr) -> Result<(), botwire_testkit::raw::Error> {
//! use botwire_testkit::raw::{self, Framing};
//! use botwire_testkit::funtek;
//!
//! let request = funtek::Signer::token("t").request("/webhooks/funtek", funtek::message("hi"));
//! // Claim a 10-byte body but send the whole of it.
//! let bytes = raw::encode(request, Framing::Declared(10)).await;
//! let response = raw::exchange(addr, bytes).await?;
//! assert_eq!(response.status, 401);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::TestResponse;

/// Why an exchange failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How the body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// `Content-Length` with the body's true length.
    Length,
    /// `Transfer-Encoding: chunked` in chunks of this many bytes, and no `Content-Length`.
    Chunked(usize),
    /// `Content-Length: n` whatever the body's length (a lie when they differ).
    Declared(u64),
}

/// `request` as HTTP/1.1 bytes: request line, its headers plus `Host` and the framing header,
/// then the body framed as `framing` says. The request's own `Content-Length` and
/// `Transfer-Encoding` headers are dropped; headers given twice are written twice.
pub async fn encode(request: Request<Full<Bytes>>, framing: Framing) -> Bytes {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    let mut out = BytesMut::with_capacity(body.len() + 512);
    out.put_slice(
        format!(
            "{} {target} HTTP/1.1\r\nhost: botwire.test\r\n",
            parts.method
        )
        .as_bytes(),
    );
    for (name, value) in &parts.headers {
        if name == http::header::CONTENT_LENGTH
            || name == http::header::TRANSFER_ENCODING
            || name == http::header::HOST
        {
            continue;
        }
        put_header(&mut out, name.as_str(), value.as_bytes());
    }
    match framing {
        Framing::Length => put_header(
            &mut out,
            "content-length",
            body.len().to_string().as_bytes(),
        ),
        Framing::Declared(n) => put_header(&mut out, "content-length", n.to_string().as_bytes()),
        Framing::Chunked(_) => put_header(&mut out, "transfer-encoding", b"chunked"),
    }
    out.put_slice(b"\r\n");
    match framing {
        Framing::Chunked(size) => {
            for chunk in body.chunks(size.max(1)) {
                out.put_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.put_slice(chunk);
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"0\r\n\r\n");
        }
        Framing::Length | Framing::Declared(_) => out.put_slice(&body),
    }
    out.freeze()
}

fn put_header(out: &mut BytesMut, name: &str, value: &[u8]) {
    out.put_slice(name.as_bytes());
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Writes `bytes` to `addr` on a new connection (then closes the writing half) and reads the
/// first response. The writing goes on beside the reading, so a server that answers before
/// the request is complete (413 on a declared length) is heard.
///
/// # Errors
/// When the connection fails, or the server closes it without a whole response.
pub async fn exchange(addr: SocketAddr, bytes: Bytes) -> Result<TestResponse, Error> {
    let stream = TcpStream::connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        // The server may stop reading and close: a failed write is its answer, not ours.
        let _ = writer.write_all(&bytes).await;
        let _ = writer.shutdown().await;
    });
    let result = read_response(&mut reader).await;
    writing.abort();
    result
}

/// Reads until one whole response has arrived, or the connection ends.
async fn read_response(reader: &mut (impl AsyncReadExt + Unpin)) -> Result<TestResponse, Error> {
    let mut received = BytesMut::with_capacity(4096);
    loop {
        if let Some(response) = parse(&received)? {
            return Ok(response);
        }
        match reader.read_buf(&mut received).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    parse(&received)?.ok_or_else(|| {
        format!(
            "the connection ended without a whole response ({} bytes: {:?})",
            received.len(),
            String::from_utf8_lossy(&received[..received.len().min(200)])
        )
        .into()
    })
}

/// A whole response at the start of `received`, if it is all there.
fn parse(received: &[u8]) -> Result<Option<TestResponse>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(received)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let status = StatusCode::from_u16(response.code.unwrap_or_default())?;
    let mut map = HeaderMap::new();
    for header in response.headers.iter() {
        map.append(
            HeaderName::from_bytes(header.name.as_bytes())?,
            HeaderValue::from_bytes(header.value)?,
        );
    }
    let length = map
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let body = &received[head_len..];
    if body.len() < length {
        return Ok(None);
    }
    Ok(Some(TestResponse {
        status,
        headers: map,
        body: Bytes::copy_from_slice(&body[..length]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request<Full<Bytes>> {
        Request::post("/p?q=1")
            .header("x-a", "1")
            .header("x-a", "2")
            .header("content-length", "999")
            .body(Full::new(Bytes::from_static(b"hello")))
            .expect("request")
    }

    #[tokio::test]
    async fn encodes_each_framing() {
        let plain = encode(request(), Framing::Length).await;
        assert_eq!(
            plain,
            "POST /p?q=1 HTTP/1.1\r\nhost: botwire.test\r\nx-a: 1\r\nx-a: 2\r\n\
             content-length: 5\r\n\r\nhello"
        );
        let chunked = encode(request(), Framing::Chunked(2)).await;
        assert!(chunked.ends_with(
            b"transfer-encoding: chunked\r\n\r\n2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n"
        ));
        let lying = encode(request(), Framing::Declared(1)).await;
        assert!(lying.ends_with(b"content-length: 1\r\n\r\nhello"));
    }

    #[test]
    fn parses_a_response_only_when_whole() {
        let whole = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 2\r\n\r\n{}";
        let response = parse(whole).expect("valid").expect("whole");
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.body, "{}");
        assert!(parse(&whole[..whole.len() - 1]).expect("valid").is_none());
        assert!(parse(b"HTTP/1.1 200 OK\r\n").expect("valid").is_none());
        assert!(parse(b"garbage\r\n\r\n").is_err());
    }
}
