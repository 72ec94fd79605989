//! A receiver of the generic HTTP outbox on `127.0.0.1:0`, as a user's own service would be:
//! it verifies each POST as Standard Webhooks specify and records what it was sent, and can
//! be told to fail, slow down or rate-limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use botwire_platforms::auth::Secret;
use botwire_platforms::standard_webhooks::{
    DEFAULT_TOLERANCE, ID_HEADER, VerifyError, WebhookSecret,
};
use http::StatusCode;
use serde_json::Value;

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One message the receiver was sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Delivered {
    /// The posted JSON.
    pub json: Value,
    /// `webhook-id`.
    pub id: String,
    /// Whether the Standard Webhooks verification held, with the receiver's secret and clock.
    pub verified: Result<(), VerifyError>,
    /// The status the receiver answered with.
    pub status: u16,
}

impl Delivered {
    /// The posted `text`.
    pub fn text(&self) -> &str {
        self.json["text"].as_str().unwrap_or_default()
    }
}

/// The receiver. Dropping it stops it.
pub struct Receiver {
    server: FakeServer,
    secret: WebhookSecret,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

struct Service;

impl fake_api::Platform for Service {
    fn check(&self, request: &Received) -> Option<Answer> {
        (request.path != "/hook").then(|| Answer::new(StatusCode::NOT_FOUND, "{}"))
    }

    fn sent(&self, _request: &Received) -> Answer {
        Answer::new(StatusCode::NO_CONTENT, "")
    }

    fn failed(&self, status: StatusCode) -> Answer {
        Answer::new(status, r#"{"error":"scripted failure"}"#)
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        Answer::new(StatusCode::TOO_MANY_REQUESTS, r#"{"error":"slow down"}"#)
            .header("retry-after", wait.as_secs().max(1).to_string())
    }
}

impl Receiver {
    /// Starts one that verifies with `secret` (`whsec_…`).
    ///
    /// # Panics
    /// When the secret is not a Standard Webhooks secret, or no loopback port can be bound.
    pub async fn start(secret: &str) -> Self {
        Self {
            server: FakeServer::start(Service).await,
            secret: WebhookSecret::parse(&Secret::new(secret)).expect("a whsec_ secret"),
        }
    }

    /// The URL to configure (`outbox_url`).
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.server.addr())
    }

    /// The next posts are answered with `status`, one each; then 204 again.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&Service, status));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// The next post, whatever it was answered.
    ///
    /// # Panics
    /// When the receiver stopped.
    pub async fn next_post(&mut self) -> Delivered {
        let request = self.server.next().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let verified = self
            .secret
            .verify(&request.headers, &request.body, now, DEFAULT_TOLERANCE);
        Delivered {
            json: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            id: request.header(ID_HEADER),
            verified,
            status: request.status.as_u16(),
        }
    }

    /// The next post answered 2xx.
    pub async fn next_message(&mut self) -> Delivered {
        loop {
            let delivered = self.next_post().await;
            if (200..300).contains(&delivered.status) {
                return delivered;
            }
        }
    }
}
