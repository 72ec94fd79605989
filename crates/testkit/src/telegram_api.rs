//! A fake Telegram Bot API on `127.0.0.1:0`: `POST /bot{token}/sendMessage` answered as
//! Telegram does (`{"ok":true,"result":{…}}`, or `{"ok":false,"error_code":…}`), with its
//! limits enforceable (a 429 naming `retry_after`), a status scripted, or a delay.

use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One `sendMessage` the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// `chat_id`, as text.
    pub chat_id: String,
    /// `text`.
    pub text: String,
    /// The bot token in the path.
    pub token: String,
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

struct BotApi;

fn error(status: StatusCode, description: &str) -> Answer {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    Answer::new(status, body.to_string())
}

/// The token in `/bot{token}/sendMessage`.
fn token(request: &Received) -> Option<&str> {
    request
        .path
        .strip_prefix("/bot")?
        .strip_suffix("/sendMessage")
        .filter(|t| !t.is_empty())
}

fn chat_id(request: &Received) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    match &body["chat_id"] {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

impl fake_api::Platform for BotApi {
    fn check(&self, request: &Received) -> Option<Answer> {
        if token(request).is_none() {
            return Some(error(StatusCode::NOT_FOUND, "Not Found"));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if chat_id(request).is_empty() {
            return Some(error(
                StatusCode::BAD_REQUEST,
                "Bad Request: chat_id is empty",
            ));
        }
        match body["text"].as_str() {
            Some(text) if !text.is_empty() && text.chars().count() <= 4096 => None,
            Some(text) if !text.is_empty() => Some(error(
                StatusCode::BAD_REQUEST,
                "Bad Request: message is too long",
            )),
            _ => Some(error(
                StatusCode::BAD_REQUEST,
                "Bad Request: message text is empty",
            )),
        }
    }

    fn sent(&self, request: &Received) -> Answer {
        let body = json!({
            "ok": true,
            "result": { "message_id": 1, "date": 1_441_645_532, "chat": { "id": chat_id(request) } }
        });
        Answer::new(StatusCode::OK, body.to_string())
    }

    fn failed(&self, status: StatusCode) -> Answer {
        error(status, "scripted failure")
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        let retry_after = wait.as_secs().max(1);
        let body = json!({
            "ok": false,
            "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": { "retry_after": retry_after },
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
            server: FakeServer::start(BotApi).await,
        }
    }

    /// The API base to configure (`api_base`).
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status`, one each, in order; then as usual.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&BotApi, status));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Answers 429 past `max` messages to one chat in `window`.
    pub fn enforce_chat_limit(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "chat",
            max,
            window,
            key: chat_id,
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

    /// The next message Telegram took (a 200): one that reached the chat.
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
    Sent {
        chat_id: chat_id(&request),
        text: body["text"].as_str().unwrap_or_default().to_owned(),
        token: token(&request).unwrap_or_default().to_owned(),
        status: request.status.as_u16(),
    }
}
