//! The bare hyper servers botwire is compared with, on the same listener settings:
//!
//! - `baseline` reads the body and answers a fixed 200: the ceiling of the stack;
//! - `baseline+work` also does the three things every webhook receiver must (the FUNTEK token
//!   and HMAC checked over the raw body, the body parsed, the delivery id inserted in a
//!   concurrent map) and nothing else: no state, no bot, no cached answer, no log. It is the
//!   floor of that work, written as tersely as it can be, so the table shows how much of the
//!   gap between botwire and the ceiling is the work itself.

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use dashmap::DashMap;
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Deserialize;
use sha2::Sha256;
use tokio::net::TcpListener;

use super::scenario::{FUNTEK_SECRET, FUNTEK_TOKEN};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The ceiling: hyper reads the body and answers a fixed 200, with nothing else on the path.
pub(crate) async fn baseline() -> BoxResult<SocketAddr> {
    listen(|body, _request| {
        std::hint::black_box(body);
        StatusCode::OK
    })
    .await
}

/// Token, HMAC, parse, dedupe: the work every receiver must do, and nothing more.
pub(crate) async fn with_work() -> BoxResult<SocketAddr> {
    let work = Work::new()?;
    listen(move |body, request| work.answer(&body, request)).await
}

/// What `baseline+work` does with a request.
pub(crate) struct Work {
    /// The keyed HMAC state, prepared once.
    keyed: Hmac<Sha256>,
    /// The delivery ids seen.
    seen: DashMap<Box<str>, ()>,
}

impl Work {
    pub(crate) fn new() -> Result<Self, hmac::digest::InvalidLength> {
        Ok(Self {
            keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(FUNTEK_SECRET.as_bytes())?,
            seen: DashMap::new(),
        })
    }

    pub(crate) fn answer(&self, body: &[u8], request: &Parts) -> StatusCode {
        if request.uri.path() == "/readyz" {
            // The bench's start-up probe.
            return StatusCode::OK;
        }
        // A plain comparison: this server only measures, and never faces an attacker.
        let token = request.uri.query().and_then(|q| q.strip_prefix("token="));
        if token != Some(FUNTEK_TOKEN) {
            return StatusCode::UNAUTHORIZED;
        }
        let signature = request.headers.get("x-webhook-signature");
        let Some(hex_tag) = signature.and_then(|s| s.as_bytes().strip_prefix(b"sha256=")) else {
            return StatusCode::UNAUTHORIZED;
        };
        let mut tag = [0u8; 32];
        if hex::decode_to_slice(hex_tag, &mut tag).is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        let mut mac = self.keyed.clone();
        mac.update(body);
        if mac.verify_slice(&tag).is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        let Ok(message) = serde_json::from_slice::<Message<'_>>(body) else {
            return StatusCode::BAD_REQUEST;
        };
        std::hint::black_box((&message.room_id, &message.event, &message.data.message));
        self.seen.insert(message.data.id.into(), ());
        StatusCode::OK
    }
}

/// What a FUNTEK message must say for a receiver to route it.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "roomID", borrow)]
    room_id: Cow<'a, str>,
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    data: MessageData<'a>,
}

#[derive(Deserialize)]
struct MessageData<'a> {
    #[serde(rename = "_id", borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// Serves every connection with `answer(body, request)`, on hyper-util's auto connection
/// builder as botwire uses.
async fn listen<F>(answer: F) -> BoxResult<SocketAddr>
where
    F: Fn(Bytes, &Parts) -> StatusCode + Send + Sync + 'static,
{
    // Lives as long as the server process: nothing to count per request.
    let answer: &'static F = Box::leak(Box::new(answer));
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| async move {
                    let (parts, body) = request.into_parts();
                    let body = match body.collect().await {
                        Ok(collected) => collected.to_bytes(),
                        Err(_) => Bytes::new(),
                    };
                    let status = answer(body, &parts);
                    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                    *response.status_mut() = status;
                    Ok::<_, Infallible>(response)
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use botwire_testkit::funtek;
    use http_body_util::BodyExt;

    use super::*;

    /// `request`'s head and body, as the server sees them.
    async fn split(request: Request<Full<Bytes>>) -> (Parts, Bytes) {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        (parts, body)
    }

    fn signer() -> funtek::Signer {
        funtek::Signer::token(FUNTEK_TOKEN).hmac(FUNTEK_SECRET)
    }

    #[tokio::test]
    async fn a_signed_delivery_is_accepted_and_its_id_remembered_once() {
        let work = Work::new().unwrap();
        let event = funtek::message("hi").id("m-1");
        for _ in 0..2 {
            let (parts, body) = split(signer().request("/webhooks/funtek", event.body())).await;
            assert_eq!(work.answer(&body, &parts), StatusCode::OK);
        }
        assert_eq!(work.seen.len(), 1);
        assert!(work.seen.contains_key("m-1"));
    }

    #[tokio::test]
    async fn bad_credentials_and_bodies_are_refused_and_remember_nothing() {
        let work = Work::new().unwrap();
        let body = funtek::message("hi").body();
        let cases = [
            (
                funtek::Signer::token("other").hmac(FUNTEK_SECRET),
                body.clone(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                funtek::Signer::token(FUNTEK_TOKEN),
                body.clone(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                funtek::Signer::token(FUNTEK_TOKEN).hmac("other"),
                body.clone(),
                StatusCode::UNAUTHORIZED,
            ),
            (
                signer(),
                Bytes::from_static(b"not json"),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (signer, body, status) in cases {
            let (parts, body) = split(signer.request("/webhooks/funtek", body)).await;
            assert_eq!(work.answer(&body, &parts), status);
        }
        let (mut parts, body) = split(signer().request("/webhooks/funtek", body)).await;
        parts
            .headers
            .insert("x-webhook-signature", "sha256=zz".parse().unwrap());
        assert_eq!(work.answer(&body, &parts), StatusCode::UNAUTHORIZED);
        assert!(work.seen.is_empty());
    }

    #[tokio::test]
    async fn the_readiness_probe_needs_no_credentials() {
        let work = Work::new().unwrap();
        let (parts, body) = split(
            Request::get("/readyz")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
        assert_eq!(work.answer(&body, &parts), StatusCode::OK);
    }
}
