//! A fake Chatwork REST API on `127.0.0.1:0`: it records every `POST
//! /rooms/{room_id}/messages` and answers as scripted (200 by default), so a test sees exactly
//! what a bot posted, in order, and can make the API fail or rate-limit.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One message posted to the fake API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Posted {
    /// The room id from the path.
    pub room: String,
    /// The `body` form field.
    pub body: String,
    /// The `X-ChatWorkToken` header.
    pub token: String,
    /// The status the fake answered with.
    pub status: u16,
}

/// A scripted answer.
#[derive(Debug, Clone)]
struct Scripted {
    status: StatusCode,
    headers: Vec<(String, String)>,
}

/// The fake API. Dropping it stops it.
#[derive(Debug)]
pub struct FakeApi {
    addr: SocketAddr,
    posted: mpsc::UnboundedReceiver<Posted>,
    script: Arc<Mutex<VecDeque<Scripted>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let (tx, posted) = mpsc::unbounded_channel();
        let script: Arc<Mutex<VecDeque<Scripted>>> = Arc::default();
        let task = tokio::spawn(serve(listener, tx, script.clone()));
        Self {
            addr,
            posted,
            script,
            task,
        }
    }

    /// The API base to configure (`api_base`), like `https://api.chatwork.com/v2`.
    pub fn base(&self) -> String {
        format!("http://{}/v2", self.addr)
    }

    /// The next posts are answered with `status` (and these headers), one each, in order;
    /// after them, 200 again.
    pub fn answer(&self, status: u16, headers: &[(&str, &str)]) {
        let scripted = Scripted {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        self.script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(scripted);
    }

    /// The next post, whatever it was answered.
    ///
    /// # Panics
    /// When the fake stopped.
    pub async fn next_post(&mut self) -> Posted {
        self.posted.recv().await.expect("the fake API is running")
    }

    /// The next post that was answered 2xx: a message that reached the room.
    pub async fn next_message(&mut self) -> Posted {
        loop {
            let posted = self.next_post().await;
            if (200..300).contains(&posted.status) {
                return posted;
            }
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    posted: mpsc::UnboundedSender<Posted>,
    script: Arc<Mutex<VecDeque<Scripted>>>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (posted, script) = (posted.clone(), script.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (posted, script) = (posted.clone(), script.clone());
                async move { Ok::<_, Infallible>(answer(request, &posted, &script).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    posted: &mpsc::UnboundedSender<Posted>,
    script: &Mutex<VecDeque<Scripted>>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let token = request
        .headers()
        .get("x-chatworktoken")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let room = path
        .strip_prefix("/v2/rooms/")
        .and_then(|rest| rest.strip_suffix("/messages"))
        .map(str::to_owned);
    let form = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = form_urlencoded::parse(&form)
        .find(|(k, _)| k == "body")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let Some(room) = room else {
        return respond(
            StatusCode::NOT_FOUND,
            &[],
            r#"{"errors":["Invalid Endpoint"]}"#,
        );
    };
    let scripted = script
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop_front()
        .unwrap_or(Scripted {
            status: StatusCode::OK,
            headers: Vec::new(),
        });
    let _ = posted.send(Posted {
        room,
        body,
        token,
        status: scripted.status.as_u16(),
    });
    let reply = if scripted.status.is_success() {
        r#"{"message_id":"1234"}"#
    } else {
        r#"{"errors":["scripted failure"]}"#
    };
    respond(scripted.status, &scripted.headers, reply)
}

fn respond(
    status: StatusCode,
    headers: &[(String, String)],
    body: &'static str,
) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
