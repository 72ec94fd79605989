//! A fake of Discord's interaction webhooks on `127.0.0.1:0`: follow-ups
//! (`POST /webhooks/{application_id}/{token}`) answered as Discord does, or as scripted: a
//! status, a delay, its rate limit (a 429 with `retry_after` in seconds).

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One follow-up the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The application id in the path.
    pub application_id: String,
    /// The interaction token in the path.
    pub token: String,
    /// `content`.
    pub content: String,
    /// The status the fake answered with.
    pub status: u16,
}

/// The fake API. Dropping it stops it.
pub struct FakeApi {
    server: FakeServer,
}

impl std::fmt::Debug for FakeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApi")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}

struct Webhooks;

fn error(status: StatusCode, message: &str) -> Answer {
    Answer::new(status, json!({ "message": message, "code": 0 }).to_string())
}

/// `(application id, token)` from `/webhooks/{application_id}/{token}`.
fn target(request: &Received) -> Option<(String, String)> {
    let rest = request.path.strip_prefix("/webhooks/")?;
    let (application, token) = rest.split_once('/')?;
    (!application.is_empty() && !token.is_empty() && !token.contains('/'))
        .then(|| (application.to_owned(), token.to_owned()))
}

impl fake_api::Platform for Webhooks {
    fn check(&self, request: &Received) -> Option<Answer> {
        if target(request).is_none() {
            return Some(error(StatusCode::NOT_FOUND, "404: Not Found"));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match body["content"].as_str() {
            Some(content) if !content.is_empty() && content.chars().count() <= 2000 => None,
            _ => Some(error(StatusCode::BAD_REQUEST, "Invalid Form Body")),
        }
    }

    fn sent(&self, _request: &Received) -> Answer {
        Answer::new(
            StatusCode::OK,
            json!({ "id": "1100000000000000000", "type": 0 }).to_string(),
        )
    }

    fn failed(&self, status: StatusCode) -> Answer {
        error(status, "scripted failure")
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        let body = json!({
            "message": "You are being rate limited.",
            "retry_after": wait.as_secs_f64().max(0.1),
            "global": false,
        });
        Answer::new(StatusCode::TOO_MANY_REQUESTS, body.to_string())
    }
}

impl FakeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        Self {
            server: FakeServer::start(Webhooks).await,
        }
    }

    /// The API base to configure (`api_base`).
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status`, one each, in order; then as usual.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&Webhooks, status));
    }

    /// Answers 429 past `max` follow-ups in `window`.
    pub fn enforce_limit(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "webhook",
            max,
            window,
            key: |_| String::new(),
        });
    }

    /// The next request, whatever it was answered.
    ///
    /// # Panics
    /// When the fake stopped.
    pub async fn next_send(&mut self) -> Sent {
        sent(self.server.next().await)
    }

    /// The next follow-up Discord took.
    pub async fn next_message(&mut self) -> Sent {
        loop {
            let sent = self.next_send().await;
            if sent.status == 200 {
                return sent;
            }
        }
    }

    /// A request received already, if there is one, without waiting.
    pub fn try_next_send(&mut self) -> Option<Sent> {
        self.server.try_next().map(sent)
    }
}

fn sent(request: Received) -> Sent {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let (application_id, token) = target(&request).unwrap_or_default();
    Sent {
        application_id,
        token,
        content: body["content"].as_str().unwrap_or_default().to_owned(),
        status: request.status.as_u16(),
    }
}
