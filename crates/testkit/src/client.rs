//! An in-process client: requests go straight to [`App::handle`].

use std::net::SocketAddr;

use botwire_server::{App, PeerAddr};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};

/// Sends requests to an [`App`] in process.
#[derive(Debug, Clone)]
pub struct TestClient {
    app: App,
    peer: Option<SocketAddr>,
}

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl TestClient {
    /// A client for `app`.
    pub fn new(app: App) -> Self {
        Self { app, peer: None }
    }

    /// The same client, its requests coming from `peer` (as a listener would say), for
    /// channels with `allow_from`. Without it a request has no known address, and such a
    /// channel refuses it.
    #[must_use]
    pub fn from_peer(mut self, peer: SocketAddr) -> Self {
        self.peer = Some(peer);
        self
    }

    /// Sends `request` and reads the whole response.
    pub async fn send(&self, mut request: Request<Full<Bytes>>) -> TestResponse {
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(PeerAddr(peer));
        }
        let response = self.app.handle(request).await;
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// A GET of `uri`.
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(request("GET", uri, Bytes::new())).await
    }

    /// A POST of `body` to `uri`, with no credentials.
    pub async fn post(&self, uri: &str, body: impl Into<Bytes>) -> TestResponse {
        self.send(request("POST", uri, body.into())).await
    }
}

fn request(method: &str, uri: &str, body: Bytes) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(body));
    *request.method_mut() = method.parse().unwrap_or_default();
    *request.uri_mut() = uri.parse().unwrap_or_default();
    request
}

impl TestResponse {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
