//! The load generator: closed-loop HTTP/1.1 connections (64 by default), each sending one
//! freshly signed delivery after another and timing the answer. It runs on one thread, on the
//! core the server does not use; its own CPU time is reported, so a table whose generator was
//! the bottleneck says so.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use botwire_testkit::{funtek, kamigo};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::scenario::{FUNTEK_SECRET, FUNTEK_TOKEN, KAMIGO_SECRET};

const ID_MARK: &str = "@@id@@";
const ROOM_MARK: &str = "@@room@@";
/// Conversations the deliveries are spread over.
const ROOMS: u64 = 1000;
/// How far back a repeated delivery id reaches.
const DUPLICATE_REACH: u64 = 1000;

/// What the requests look like: a FUNTEK message (token and HMAC signature) or a Kamigo one
/// (HMAC signature). The baseline server gets the FUNTEK ones.
pub(crate) struct Deliveries {
    path: &'static str,
    template: String,
    sign: Signing,
}

enum Signing {
    Funtek(funtek::Signer),
    Kamigo(kamigo::Signer),
}

impl Deliveries {
    pub(crate) fn funtek() -> Self {
        let template = funtek::message("hello there")
            .id(ID_MARK)
            .room(ROOM_MARK)
            .body();
        Self {
            path: "/webhooks/funtek",
            template: String::from_utf8_lossy(&template).into_owned(),
            sign: Signing::Funtek(funtek::Signer::token(FUNTEK_TOKEN).hmac(FUNTEK_SECRET)),
        }
    }

    pub(crate) fn kamigo() -> Self {
        let template = kamigo::message("hello there")
            .id(ID_MARK)
            .room(ROOM_MARK)
            .body();
        Self {
            path: "/webhooks/kamigo",
            template: String::from_utf8_lossy(&template).into_owned(),
            sign: Signing::Kamigo(kamigo::Signer::new(KAMIGO_SECRET)),
        }
    }

    /// Delivery number `n`, signed: id `bench-<n>` in one of [`ROOMS`] conversations.
    fn request(&self, n: u64) -> Request<Full<Bytes>> {
        let body = self
            .template
            .replace(ID_MARK, &format!("bench-{n}"))
            .replace(ROOM_MARK, &format!("room-{}", n % ROOMS));
        match &self.sign {
            Signing::Funtek(signer) => signer.request(self.path, body),
            Signing::Kamigo(signer) => signer.request(self.path, body),
        }
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// At `end`; only answers between `measure_from` and `end` count.
    Time { measure_from: Instant, end: Instant },
    /// After `total` requests, all counted, with a latency histogram per `segment` of them.
    Requests { total: u64, segment: u64 },
}

impl Until {
    /// How many segment histograms a run keeps.
    fn segments(self) -> usize {
        match self {
            Self::Requests { total, segment } => {
                usize::try_from(total.div_ceil(segment.max(1))).unwrap_or(0)
            }
            Self::Time { .. } => 0,
        }
    }
}

/// One run's load.
pub(crate) struct Load {
    pub(crate) addr: SocketAddr,
    pub(crate) deliveries: Deliveries,
    pub(crate) connections: usize,
    /// The share of requests that repeat a recent delivery id.
    pub(crate) duplicates: f64,
    pub(crate) until: Until,
}

/// What the connections saw.
#[derive(Debug)]
pub(crate) struct Seen {
    /// Answers counted (in the window), errors included.
    pub(crate) answers: u64,
    /// Answers that were not 2xx, or requests that got no answer.
    pub(crate) errors: u64,
    /// Of the errors, 503s that asked the sender to wait (`Retry-After`): the connection
    /// waited, as a platform that honours it would.
    pub(crate) refused: u64,
    pub(crate) first_error: Option<String>,
    /// Latency of every counted answer, in nanoseconds.
    pub(crate) latency: Histogram<u64>,
    /// Per segment of requests, for [`Until::Requests`].
    pub(crate) segments: Vec<Histogram<u64>>,
    /// The length of the last answer's body.
    pub(crate) response_bytes: usize,
}

impl Seen {
    fn new(segments: usize) -> Self {
        Self {
            answers: 0,
            errors: 0,
            refused: 0,
            first_error: None,
            latency: histogram(),
            segments: (0..segments).map(|_| histogram()).collect(),
            response_bytes: 0,
        }
    }

    fn error(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    fn merge(&mut self, other: Seen) {
        self.answers += other.answers;
        self.errors += other.errors;
        self.refused += other.refused;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        let _ = self.latency.add(&other.latency);
        for (mine, theirs) in self.segments.iter_mut().zip(&other.segments) {
            let _ = mine.add(theirs);
        }
        self.response_bytes = self.response_bytes.max(other.response_bytes);
    }
}

/// A latency histogram in nanoseconds, 1 ns to 60 s, three significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 60_000_000_000, 3) {
        Ok(h) => h,
        Err(e) => unreachable!("fixed bounds are valid: {e}"),
    }
}

/// Requests started so far (the next delivery number) and answers received.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    started: AtomicU64,
    pub(crate) answered: AtomicU64,
}

/// Runs `load` to its end on the current runtime; `progress` counts as it goes.
pub(crate) async fn run(load: Arc<Load>, progress: Arc<Progress>) -> Seen {
    let tasks: Vec<_> = (0..load.connections)
        .map(|n| {
            let load = load.clone();
            let progress = progress.clone();
            tokio::spawn(connection(load, progress, n as u64))
        })
        .collect();
    let mut seen = Seen::new(load.until.segments());
    for task in tasks {
        match task.await {
            Ok(one) => seen.merge(one),
            Err(e) => seen.error(format!("a connection task failed: {e}")),
        }
    }
    seen
}

/// One connection: requests one after another until the load ends. A broken connection is
/// counted as an error and opened again.
async fn connection(load: Arc<Load>, progress: Arc<Progress>, seed: u64) -> Seen {
    let mut seen = Seen::new(load.until.segments());
    let mut rng = fastrand::Rng::with_seed(seed);
    'connect: loop {
        let mut sender = match open(load.addr).await {
            Ok(sender) => sender,
            Err(e) => {
                seen.error(format!("connect: {e}"));
                if ended(&load, Instant::now()) {
                    return seen;
                }
                continue;
            }
        };
        loop {
            let n = progress.started.fetch_add(1, Ordering::Relaxed);
            let now = Instant::now();
            if let Until::Requests { total, .. } = load.until
                && n >= total
            {
                return seen;
            }
            if ended(&load, now) {
                return seen;
            }
            let delivery = if n > DUPLICATE_REACH && rng.f64() < load.duplicates {
                n - rng.u64(1..=DUPLICATE_REACH)
            } else {
                n
            };
            let request = load.deliveries.request(delivery);
            let sent_at = Instant::now();
            let mut pause = None;
            let answer = match sender.send_request(request).await {
                Ok(response) => {
                    let status = response.status();
                    pause = retry_after(&response);
                    match response.into_body().collect().await {
                        Ok(body) if status.is_success() => Ok(body.to_bytes().len()),
                        Ok(body) => Err(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body.to_bytes())
                        )),
                        Err(e) => Err(format!("reading the answer: {e}")),
                    }
                }
                Err(e) => Err(format!("sending: {e}")),
            };
            let answered_at = Instant::now();
            progress.answered.fetch_add(1, Ordering::Relaxed);
            let counted = match load.until {
                Until::Time { measure_from, end } => sent_at >= measure_from && answered_at <= end,
                Until::Requests { .. } => true,
            };
            let broken = sender.is_closed();
            if counted {
                seen.answers += 1;
                let nanos = u64::try_from((answered_at - sent_at).as_nanos()).unwrap_or(u64::MAX);
                let _ = seen.latency.record(nanos.max(1));
                if let Until::Requests { segment, .. } = load.until
                    && let Some(h) = usize::try_from(n / segment.max(1))
                        .ok()
                        .and_then(|i| seen.segments.get_mut(i))
                {
                    let _ = h.record(nanos.max(1));
                }
                match answer {
                    Ok(bytes) => seen.response_bytes = bytes,
                    Err(e) => {
                        seen.refused += u64::from(pause.is_some());
                        seen.error(e);
                    }
                }
            }
            if broken {
                continue 'connect;
            }
            if let Some(pause) = pause {
                // As a sender that honours Retry-After does: this connection waits.
                let wake = Instant::now() + pause;
                match load.until {
                    Until::Time { end, .. } => tokio::time::sleep_until(wake.min(end)).await,
                    Until::Requests { .. } => tokio::time::sleep_until(wake).await,
                }
            }
        }
    }
}

/// The wait a 503 asks for (`Retry-After` in seconds), if it asks.
fn retry_after<B>(response: &hyper::Response<B>) -> Option<Duration> {
    if response.status() != hyper::StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds = response
        .headers()
        .get(hyper::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

fn ended(load: &Load, now: Instant) -> bool {
    matches!(load.until, Until::Time { end, .. } if now >= end)
}

async fn open(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

/// How long an answer took at quantile `q`, in milliseconds.
pub(crate) fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1e6
}

/// Waits until `addr` answers `/readyz` with 200.
pub(crate) async fn wait_ready(addr: SocketAddr, within: Duration) -> Result<(), String> {
    let give_up = Instant::now() + within;
    loop {
        match botwire_testkit::tcp::get(addr, "/readyz").await {
            Ok(response) if response.status.is_success() => return Ok(()),
            _ if Instant::now() >= give_up => {
                return Err(format!("{addr} was not ready within {within:?}"));
            }
            _ => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}
