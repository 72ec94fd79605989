//! A fake Slack Web API on `127.0.0.1:0`: `POST /api/chat.postMessage` answered as Slack does
//! (HTTP 200 with `"ok": true`, or `"ok": false` and an `error`), with its per-channel limit
//! enforceable (`429` with `Retry-After`), an error or status scripted, or a delay.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One `chat.postMessage` the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// `channel`.
    pub channel: String,
    /// `text`.
    pub text: String,
    /// `thread_ts`, when the message went to a thread.
    pub thread_ts: Option<String>,
    /// The bearer token.
    pub token: String,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// Whether the answer said `"ok": true`.
    pub ok: bool,
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

struct WebApi;

fn failure(error: &str) -> Answer {
    Answer::new(
        StatusCode::OK,
        json!({ "ok": false, "error": error }).to_string(),
    )
}

fn body(request: &Received) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

impl fake_api::Platform for WebApi {
    fn check(&self, request: &Received) -> Option<Answer> {
        if request.path != "/api/chat.postMessage" {
            return Some(Answer::new(StatusCode::NOT_FOUND, "{}"));
        }
        let token = request.header("authorization");
        if !token.starts_with("Bearer xoxb-") {
            return Some(failure("invalid_auth"));
        }
        let body = body(request);
        if body["channel"].as_str().is_none_or(str::is_empty) {
            return Some(failure("channel_not_found"));
        }
        if body["text"].as_str().is_none_or(str::is_empty) {
            return Some(failure("no_text"));
        }
        None
    }

    fn sent(&self, request: &Received) -> Answer {
        let body = body(request);
        let answer = json!({ "ok": true, "channel": body["channel"], "ts": "1503435956.000247" });
        Answer::new(StatusCode::OK, answer.to_string())
    }

    fn failed(&self, status: StatusCode) -> Answer {
        Answer::new(
            status,
            json!({ "ok": false, "error": "scripted" }).to_string(),
        )
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        Answer::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "ok": false, "error": "ratelimited" }).to_string(),
        )
        .header("retry-after", wait.as_secs().max(1).to_string())
    }
}

impl FakeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        Self {
            server: FakeServer::start(WebApi).await,
        }
    }

    /// The API base to configure (`api_base`).
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status`, one each, in order; then as usual.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&WebApi, status));
    }

    /// The next send is answered HTTP 200 with `"ok": false` and this `error`.
    pub fn answer_error(&self, error: &str) {
        self.server.script(failure(error));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Answers 429 past `max` messages to one channel in `window`.
    pub fn enforce_channel_limit(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "channel",
            max,
            window,
            key: |request| {
                body(request)["channel"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            },
        });
    }

    /// How many sends a limit refused.
    pub fn limited(&self) -> usize {
        self.server.limited()
    }

    /// The next request, whatever it was answered.
    ///
    /// # Panics
    /// When the fake stopped.
    pub async fn next_send(&mut self) -> Sent {
        sent(self.server.next().await)
    }

    /// The next message Slack took: one that reached the channel.
    pub async fn next_message(&mut self) -> Sent {
        loop {
            let sent = self.next_send().await;
            if sent.ok {
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
    let json = body(&request);
    let answer: Value = serde_json::from_str(&request.answer).unwrap_or(Value::Null);
    Sent {
        channel: json["channel"].as_str().unwrap_or_default().to_owned(),
        text: json["text"].as_str().unwrap_or_default().to_owned(),
        thread_ts: json["thread_ts"].as_str().map(str::to_owned),
        token: request
            .header("authorization")
            .trim_start_matches("Bearer ")
            .to_owned(),
        status: request.status.as_u16(),
        ok: answer["ok"] == true,
    }
}
