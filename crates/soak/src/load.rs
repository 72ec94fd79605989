//! The load: clients sending a seeded mix of good deliveries (some scheduled to fail or panic
//! on their first run), duplicates, forged and malformed ones at a steady rate, and a few
//! slow clients that stall in the request head.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use botwire_testkit::tcp;
use bytes::Bytes;
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, MissedTickBehavior};

use crate::bot::{FAIL, PANIC};
use crate::platforms::{ALL, Platform};

/// How many times a client sends a delivery the server failed on (as a platform resends).
const RESENDS: u32 = 5;
/// Deliveries each client keeps to send again as duplicates.
const RECENT: usize = 50;
/// Connections stalled in their head at any time.
const SLOW_CLIENTS: usize = 4;

/// What was sent, shared by the clients and read by the checks.
#[derive(Debug)]
pub(crate) struct Sent {
    next: AtomicU64,
    /// Per good delivery number: 0 if none, else 1 + its platform's index in [`ALL`].
    platform_of: Arc<[AtomicU8]>,
    pub(crate) good: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) slow: AtomicU64,
    pub(crate) faults: AtomicU64,
    /// Answers that were not what they should have been.
    pub(crate) unexpected: AtomicU64,
    first_unexpected: std::sync::Mutex<Option<String>>,
}

impl Sent {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            next: AtomicU64::new(0),
            platform_of: (0..capacity).map(|_| AtomicU8::new(0)).collect(),
            good: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            first_unexpected: std::sync::Mutex::new(None),
        }
    }

    /// How many delivery numbers were handed out.
    pub(crate) fn numbered(&self) -> u64 {
        self.next
            .load(Ordering::SeqCst)
            .min(self.platform_of.len() as u64)
    }

    /// The platform good delivery `n` went to, if `n` was a good delivery.
    pub(crate) fn platform_of(&self, n: u64) -> Option<Platform> {
        let slot = self.platform_of.get(usize::try_from(n).ok()?)?;
        let index = slot.load(Ordering::SeqCst).checked_sub(1)?;
        ALL.get(usize::from(index)).copied()
    }

    pub(crate) fn first_unexpected(&self) -> Option<String> {
        self.first_unexpected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn unexpected(&self, what: String) {
        self.unexpected.fetch_add(1, Ordering::SeqCst);
        let mut first = self
            .first_unexpected
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(what);
    }

    /// A fresh delivery number, `None` once the tallies are full.
    fn number(&self) -> Option<u64> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        (n < self.platform_of.len() as u64).then_some(n)
    }

    fn mark(&self, n: u64, platform: Platform) {
        let index = ALL.iter().position(|p| *p == platform).unwrap_or_default();
        if let Some(slot) = usize::try_from(n)
            .ok()
            .and_then(|i| self.platform_of.get(i))
        {
            slot.store(u8::try_from(index + 1).unwrap_or(u8::MAX), Ordering::SeqCst);
        }
    }
}

/// One client: `per_second` requests a second until `until`.
pub(crate) async fn client(
    addr: SocketAddr,
    sent: Arc<Sent>,
    seed: u64,
    per_second: u32,
    until: Instant,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut recent: VecDeque<(Platform, Bytes)> = VecDeque::with_capacity(RECENT);
    let period = Duration::from_secs(1) / per_second.max(1);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    while Instant::now() < until {
        ticks.tick().await;
        let platform = ALL[rng.usize(..ALL.len())];
        match rng.u32(0..100) {
            0..60 => {
                let Some(n) = sent.number() else {
                    return;
                };
                let marker = match rng.u32(0..100) {
                    0..4 => FAIL,
                    4..8 => PANIC,
                    _ => "",
                };
                if !marker.is_empty() {
                    sent.faults.fetch_add(1, Ordering::SeqCst);
                }
                let text = format!("{marker}soak {n}");
                let body = platform.message(&text, rng.u32(0..64));
                sent.mark(n, platform);
                deliver(addr, &sent, platform, body.clone(), &text).await;
                sent.good.fetch_add(1, Ordering::SeqCst);
                if recent.len() == RECENT {
                    recent.pop_front();
                }
                recent.push_back((platform, body));
            }
            60..75 if !recent.is_empty() => {
                let (platform, body) = recent[rng.usize(..recent.len())].clone();
                let text = text_of(platform, &body);
                deliver(addr, &sent, platform, body, &text).await;
                sent.duplicates.fetch_add(1, Ordering::SeqCst);
            }
            60..90 => {
                let forged = platform.forged(platform.message("forged", 0));
                expect(&sent, platform, addr, forged, StatusCode::UNAUTHORIZED).await;
            }
            _ => {
                let malformed = platform.signed(Bytes::from_static(b"{\"truncated\":"));
                expect(
                    &sent,
                    platform,
                    addr,
                    malformed,
                    platform.malformed_status(),
                )
                .await;
            }
        }
    }
}

/// The text of a message body the soak built.
fn text_of(platform: Platform, body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value
        .pointer(platform.text_pointer())
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Sends a good delivery (or a duplicate of one) as the platform would: again after a 5xx.
async fn deliver(addr: SocketAddr, sent: &Sent, platform: Platform, body: Bytes, text: &str) {
    for _ in 0..RESENDS {
        let response = match tcp::send(addr, platform.signed(body.clone())).await {
            Ok(response) => response,
            Err(error) => {
                sent.unexpected(format!("{}: no answer: {error}", platform.name()));
                return;
            }
        };
        if response.status.is_server_error() {
            continue; // a scheduled failure or panic: the platform resends
        }
        if response.status != StatusCode::OK {
            sent.unexpected(format!(
                "{}: a good delivery got {}: {}",
                platform.name(),
                response.status,
                response.text()
            ));
        } else if !platform.via_api() && platform.answered_text(&response.json()) != Some(text) {
            sent.unexpected(format!(
                "{}: the reply to {text:?} was {}",
                platform.name(),
                response.text()
            ));
        }
        return;
    }
    sent.unexpected(format!(
        "{}: {text:?} failed {RESENDS} times",
        platform.name()
    ));
}

/// Sends a delivery that must be refused with `status`.
async fn expect(
    sent: &Sent,
    platform: Platform,
    addr: SocketAddr,
    request: http::Request<http_body_util::Full<Bytes>>,
    status: StatusCode,
) {
    match tcp::send(addr, request).await {
        Ok(response) if response.status == status && response.json()["error"].is_string() => {
            sent.rejected.fetch_add(1, Ordering::SeqCst);
        }
        Ok(response) => sent.unexpected(format!(
            "{}: expected {status}, got {}: {}",
            platform.name(),
            response.status,
            response.text()
        )),
        Err(error) => sent.unexpected(format!("{}: no answer: {error}", platform.name())),
    }
}

/// Keeps [`SLOW_CLIENTS`] connections stalled in their request head until `until`; each must
/// be cut off by the server.
pub(crate) async fn slow_clients(addr: SocketAddr, sent: Arc<Sent>, until: Instant) {
    let mut stalled = tokio::task::JoinSet::new();
    for _ in 0..SLOW_CLIENTS {
        let sent = sent.clone();
        stalled.spawn(async move {
            while Instant::now() < until {
                match stall(addr).await {
                    Ok(()) => {
                        sent.slow.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(what) => sent.unexpected(format!("slow client: {what}")),
                }
            }
        });
    }
    while stalled.join_next().await.is_some() {}
}

/// Opens a connection, sends part of a head, and waits for the server to close it.
async fn stall(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"POST /webhooks/funtek HTTP/1.1\r\nHost: soak\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut rest = Vec::new();
    match tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest)).await {
        Ok(_) => Ok(()),
        Err(_) => Err("the server kept a stalled connection open for 30 s".into()),
    }
}
