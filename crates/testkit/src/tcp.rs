//! Requests to a running server over real TCP, one connection each (HTTP/1.1).

use std::net::SocketAddr;

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::stream;
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::TestResponse;

/// Why a request over TCP failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Sends `request` to `addr` on a new connection and reads the whole response.
///
/// # Errors
/// When the connection fails or the server closes it without answering.
pub async fn send<B>(addr: SocketAddr, request: Request<B>) -> Result<TestResponse, Error>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Error>,
{
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(http::header::HOST, addr.to_string().parse()?);
    let response = sender.send_request(Request::from_parts(parts, body)).await;
    read(response, driver).await
}

/// Sends `request` to `addr` over HTTP/2 with prior knowledge (cleartext, no upgrade), on a new
/// connection, and reads the whole response.
///
/// # Errors
/// When the connection fails or the server closes it without answering.
pub async fn send_h2<B>(addr: SocketAddr, request: Request<B>) -> Result<TestResponse, Error>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Error>,
{
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    let driver = tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts.uri = format!("http://{addr}{}", parts.uri).parse()?;
    let response = sender.send_request(Request::from_parts(parts, body)).await;
    read(response, driver).await
}

/// A GET of `path` on `addr`.
///
/// # Errors
/// As [`send`].
pub async fn get(addr: SocketAddr, path: &str) -> Result<TestResponse, Error> {
    let request = Request::get(path).body(Full::new(Bytes::new()))?;
    send(addr, request).await
}

/// A body sent in `chunks` with no `Content-Length` (chunked transfer encoding).
pub fn chunked(
    chunks: impl IntoIterator<Item = Bytes>,
) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + 'static>
{
    let frames: Vec<_> = chunks.into_iter().map(|c| Ok(Frame::data(c))).collect();
    StreamBody::new(stream::iter(frames))
}

/// Reads a response whole, then stops its connection's driver.
async fn read<T>(
    response: Result<http::Response<hyper::body::Incoming>, hyper::Error>,
    driver: tokio::task::JoinHandle<T>,
) -> Result<TestResponse, Error> {
    let result = async {
        let (parts, body) = response?.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
    .await;
    driver.abort();
    result
}
