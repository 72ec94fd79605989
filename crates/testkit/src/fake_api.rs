//! The server under every fake platform API: it listens on `127.0.0.1:0`, records each
//! request it is sent, and answers as the platform would, or as the test scripts it: a status
//! and body for the next requests, a delay for every answer, and the platform's rate limits
//! enforced as the platform enforces them. Each fake (`chatwork_api`, `imkit_api`,
//! `wechatpadpro_api`, `webhook_receiver`) adds only its paths and shapes.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One request the fake received, and what it answered.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) status: StatusCode,
    /// The body the fake answered with.
    pub(crate) answer: String,
}

impl Received {
    /// A header's value as text (empty when absent).
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// A query parameter (empty when absent).
    pub(crate) fn param(&self, name: &str) -> String {
        form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }
}

/// An answer: a status, headers and a body.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn new(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    #[must_use]
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// How a fake answers: the platform's own rules for a request it is sent.
pub(crate) trait Platform: Send + Sync + 'static {
    /// The answer to a request on a path the platform does not have, or a malformed one
    /// (`None`: it is a send the fake accepts).
    fn check(&self, request: &Received) -> Option<Answer>;

    /// The answer to an accepted send.
    fn sent(&self, request: &Received) -> Answer;

    /// The answer a test scripted with only a status: the platform's error shape.
    fn failed(&self, status: StatusCode) -> Answer;

    /// The answer when a rate limit is exceeded, to wait `wait`.
    fn limited(&self, limit: &Limit, wait: Duration) -> Answer;
}

/// A limit the fake enforces: at most `max` sends in any `window`, counted per key (the token
/// header, the conversation in the path).
#[derive(Clone)]
pub(crate) struct Limit {
    pub(crate) name: &'static str,
    pub(crate) max: usize,
    pub(crate) window: Duration,
    pub(crate) key: fn(&Received) -> String,
}

/// What the test has asked for, shared with the serving task.
#[derive(Default)]
struct Control {
    script: VecDeque<Answer>,
    delay: Duration,
    limits: Vec<Limit>,
    /// The times of the sends each (limit, key) counted, oldest first.
    windows: HashMap<(usize, String), VecDeque<Instant>>,
    limited: usize,
}

/// A fake API server. Dropping it stops it.
pub(crate) struct FakeServer {
    addr: SocketAddr,
    received: mpsc::UnboundedReceiver<Received>,
    control: Arc<Mutex<Control>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts `platform`'s fake on a free loopback port.
    pub(crate) async fn start(platform: impl Platform) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("an address");
        let (tx, received) = mpsc::unbounded_channel();
        let control: Arc<Mutex<Control>> = Arc::default();
        let task = tokio::spawn(serve(listener, Arc::new(platform), tx, control.clone()));
        Self {
            addr,
            received,
            control,
            task,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next sends are answered `answer`, one each, in order; then as the platform would.
    pub(crate) fn script(&self, answer: Answer) {
        self.control().script.push_back(answer);
    }

    /// Every answer from now on waits `delay` first (zero: answer at once).
    pub(crate) fn delay(&self, delay: Duration) {
        self.control().delay = delay;
    }

    /// Enforces `limit` from now on.
    pub(crate) fn enforce(&self, limit: Limit) {
        self.control().limits.push(limit);
    }

    /// How many sends a limit refused.
    pub(crate) fn limited(&self) -> usize {
        self.control().limited
    }

    /// The next request, whatever it was answered.
    pub(crate) async fn next(&mut self) -> Received {
        self.received.recv().await.expect("the fake API is running")
    }

    /// A request received already, if there is one, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<Received> {
        self.received.try_recv().ok()
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    platform: Arc<dyn Platform>,
    received: mpsc::UnboundedSender<Received>,
    control: Arc<Mutex<Control>>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (platform, received, control) = (platform.clone(), received.clone(), control.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (platform, received, control) =
                    (platform.clone(), received.clone(), control.clone());
                async move {
                    let answer = answer(request, &*platform, &received, &control).await;
                    Ok::<_, Infallible>(answer)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    platform: &dyn Platform,
    received: &mpsc::UnboundedSender<Received>,
    control: &Mutex<Control>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut request = Received {
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        status: StatusCode::OK,
        answer: String::new(),
    };
    let (answer, delay) = {
        let mut control = control.lock().unwrap_or_else(|e| e.into_inner());
        let answer = match platform.check(&request) {
            Some(refused) => refused,
            None => control.decide(platform, &request),
        };
        (answer, control.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    request.status = answer.status;
    request.answer.clone_from(&answer.body);
    // A test that stopped listening is not the fake's failure.
    let _ = received.send(request);
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", "application/json");
    for (name, value) in &answer.headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(Bytes::from(answer.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

impl Control {
    /// The answer to an accepted send: a scripted one, a limit's refusal, or success. A send a
    /// limit refused does not count against the window, as the platforms count.
    fn decide(&mut self, platform: &dyn Platform, request: &Received) -> Answer {
        if let Some(scripted) = self.script.pop_front() {
            return scripted;
        }
        let now = Instant::now();
        for (index, limit) in self.limits.iter().enumerate() {
            let window = self
                .windows
                .entry((index, (limit.key)(request)))
                .or_default();
            while window
                .front()
                .is_some_and(|t| now.duration_since(*t) >= limit.window)
            {
                window.pop_front();
            }
            if window.len() >= limit.max {
                let oldest = window.front().copied().unwrap_or(now);
                let wait = limit.window.saturating_sub(now.duration_since(oldest));
                self.limited += 1;
                return platform.limited(limit, wait);
            }
        }
        for (index, limit) in self.limits.iter().enumerate() {
            self.windows
                .entry((index, (limit.key)(request)))
                .or_default()
                .push_back(now);
        }
        platform.sent(request)
    }
}

/// An answer with only a status, in `platform`'s error shape.
pub(crate) fn status(platform: &dyn Platform, status: u16) -> Answer {
    platform.failed(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
}
