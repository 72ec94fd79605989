//! A fake IMKit platform API on `127.0.0.1:0`: it records every `POST
//! /rooms/{roomID}/message` and answers with IMKit's envelope (`{"RC":0,"RM":"OK",…}`), or as
//! scripted: another HTTP status, HTTP 200 with another `RC`, a delay, or IMKit's limit of
//! requests per API key enforced (1,000 a minute; tests scale it down), answered 429 with
//! `"retryAfter"` in the body as IMKit does.

use std::time::Duration;

use botwire_platforms::funtek::API_KEY_HEADER;
use http::StatusCode;
use serde_json::{Value, json};

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One message sent into a room.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The room id from the path.
    pub room: String,
    /// `message`.
    pub message: String,
    /// `messageType`.
    pub message_type: String,
    /// `sender`, when given.
    pub sender: Option<String>,
    /// `_id`, when given.
    pub id: Option<String>,
    /// The `IM-API-KEY` header.
    pub key: String,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The `RC` it answered with.
    pub rc: i64,
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

struct Imkit;

fn room(path: &str) -> Option<&str> {
    path.strip_prefix("/rooms/")?
        .strip_suffix("/message")
        .filter(|room| !room.is_empty() && !room.contains('/'))
}

fn envelope(status: StatusCode, rc: i64, rm: &str) -> Answer {
    Answer::new(status, json!({ "RC": rc, "RM": rm }).to_string())
}

impl fake_api::Platform for Imkit {
    fn check(&self, request: &Received) -> Option<Answer> {
        if room(&request.path).is_none() {
            return Some(envelope(StatusCode::NOT_FOUND, 404, "Not Found"));
        }
        if request.header(API_KEY_HEADER).is_empty() {
            return Some(envelope(StatusCode::UNAUTHORIZED, 401, "Unauthorized"));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if !body["message"].is_string() || !body["messageType"].is_string() {
            return Some(envelope(StatusCode::BAD_REQUEST, 400, "Bad Request"));
        }
        None
    }

    fn sent(&self, request: &Received) -> Answer {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let result = json!({
            "_id": body.get("_id").cloned().unwrap_or_else(|| "5c1ddf2d1536bbb6c49f7d00".into()),
            "room": room(&request.path),
            "message": body["message"],
            "messageType": body["messageType"],
            "sender": body.get("sender"),
        });
        Answer::new(
            StatusCode::OK,
            json!({ "RC": 0, "RM": "OK", "result": result }).to_string(),
        )
    }

    fn failed(&self, status: StatusCode) -> Answer {
        envelope(status, i64::from(status.as_u16()), "scripted failure")
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        let body =
            json!({ "RC": 429, "RM": "Too many requests", "retryAfter": wait.as_secs().max(1) });
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
            server: FakeServer::start(Imkit).await,
        }
    }

    /// The API base to configure (`api_base`), like `https://<app>.imkit.io`.
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status` (in IMKit's envelope), one each.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&Imkit, status));
    }

    /// The next sends are answered HTTP 200 with this `RC` (0 is success), one each.
    pub fn answer_rc(&self, rc: i64) {
        self.server
            .script(envelope(StatusCode::OK, rc, "scripted RC"));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Enforces IMKit's limit per API key, scaled: `max` requests per `window`.
    pub fn enforce_limit(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "api_key",
            max,
            window,
            key: |request| request.header(API_KEY_HEADER),
        });
    }

    /// How many sends the limit refused.
    pub fn limited(&self) -> usize {
        self.server.limited()
    }

    /// The next send, whatever it was answered.
    ///
    /// # Panics
    /// When the fake stopped.
    pub async fn next_send(&mut self) -> Sent {
        sent(self.server.next().await)
    }

    /// The next send that IMKit took (HTTP 200, `RC` 0): a message in the room.
    pub async fn next_message(&mut self) -> Sent {
        loop {
            let sent = self.next_send().await;
            if sent.status == 200 && sent.rc == 0 {
                return sent;
            }
        }
    }

    /// A send received already, if there is one, without waiting.
    pub fn try_next_send(&mut self) -> Option<Sent> {
        self.server.try_next().map(sent)
    }
}

fn sent(request: Received) -> Sent {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let text = |field: &str| body[field].as_str().map(str::to_owned);
    let rc = serde_json::from_str::<Value>(&request.answer)
        .ok()
        .and_then(|v| v["RC"].as_i64())
        .unwrap_or(-1);
    Sent {
        room: room(&request.path).unwrap_or_default().to_owned(),
        message: text("message").unwrap_or_default(),
        message_type: text("messageType").unwrap_or_default(),
        sender: text("sender"),
        id: text("_id"),
        key: request.header(API_KEY_HEADER),
        status: request.status.as_u16(),
        rc,
    }
}
