//! A fake WeChatPadPro gateway on `127.0.0.1:0`: it records every `POST
//! {base}/message/SendTextMessage?key=…` and answers as the gateway does (HTTP 200 with
//! `"Code":200`), or as scripted: another HTTP status, HTTP 200 with another `Code` (how the
//! gateway reports most failures), a delay, or a pace per conversation it enforces (the
//! gateway documents none; WeChat punishes bursts).

use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// The version prefix the fake's base carries, as real gateways' do.
const PREFIX: &str = "/v849";

/// One message sent through the fake gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// `ToUserName`: a wxid, or a `…@chatroom`.
    pub to: String,
    /// `TextContent`.
    pub text: String,
    /// `MsgType` (1: text).
    pub msg_type: i64,
    /// `AtWxIDList`.
    pub at: Vec<String>,
    /// The `key` query parameter.
    pub key: String,
    /// How many items `MsgItem` held.
    pub items: usize,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The `Code` it answered with.
    pub code: i64,
}

/// The fake gateway. Dropping it stops it.
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

struct Gateway;

fn envelope(code: i64, text: &str) -> String {
    serde_json::json!({ "Code": code, "Data": null, "Text": text }).to_string()
}

impl fake_api::Platform for Gateway {
    fn check(&self, request: &Received) -> Option<Answer> {
        if request.path != format!("{PREFIX}/message/SendTextMessage") {
            return Some(Answer::new(
                StatusCode::NOT_FOUND,
                envelope(404, "not found"),
            ));
        }
        let items = serde_json::from_slice::<Value>(&request.body)
            .ok()
            .and_then(|v| v.get("MsgItem").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let well_formed = !items.is_empty()
            && items.iter().all(|item| {
                item["ToUserName"].as_str().is_some_and(|to| !to.is_empty())
                    && item["TextContent"].is_string()
            });
        if request.param("key").is_empty() || !well_formed {
            return Some(Answer::new(StatusCode::OK, envelope(-1, "invalid request")));
        }
        None
    }

    fn sent(&self, _request: &Received) -> Answer {
        let body = serde_json::json!({
            "Code": 200,
            "Data": [{ "isSendSuccess": true, "resp": { "MsgId": 1_234_567 } }],
            "Text": "",
        });
        Answer::new(StatusCode::OK, body.to_string())
    }

    fn failed(&self, status: StatusCode) -> Answer {
        Answer::new(
            status,
            envelope(i64::from(status.as_u16()), "scripted failure"),
        )
    }

    fn limited(&self, _limit: &Limit, wait: Duration) -> Answer {
        Answer::new(StatusCode::TOO_MANY_REQUESTS, envelope(429, "too frequent"))
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
            server: FakeServer::start(Gateway).await,
        }
    }

    /// The API base to configure (`api_base`), with a version prefix as real gateways have.
    pub fn base(&self) -> String {
        format!("http://{}{PREFIX}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status`, one each, in order; then as usual.
    pub fn answer(&self, status: u16) {
        self.server.script(fake_api::status(&Gateway, status));
    }

    /// The next sends are answered HTTP 200 with this `Code` (200 is success), one each.
    pub fn answer_code(&self, code: i64) {
        self.server
            .script(Answer::new(StatusCode::OK, envelope(code, "scripted code")));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Answers 429 past `max` sends to one conversation in `window`.
    pub fn enforce_pace(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "conversation",
            max,
            window,
            key: |request| first_item(request).0,
        });
    }

    /// How many sends the pace refused.
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

    /// The next send that the gateway took (HTTP 200, `Code` 200): a message that went out.
    pub async fn next_message(&mut self) -> Sent {
        loop {
            let sent = self.next_send().await;
            if sent.status == 200 && sent.code == 200 {
                return sent;
            }
        }
    }

    /// A send received already, if there is one, without waiting.
    pub fn try_next_send(&mut self) -> Option<Sent> {
        self.server.try_next().map(sent)
    }
}

/// The first item's `ToUserName` and the whole `MsgItem` list.
fn first_item(request: &Received) -> (String, Vec<Value>) {
    let items = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|v| v.get("MsgItem").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    let to = items
        .first()
        .and_then(|item| item["ToUserName"].as_str())
        .unwrap_or_default()
        .to_owned();
    (to, items)
}

fn sent(request: Received) -> Sent {
    let (to, items) = first_item(&request);
    let item = items.first().cloned().unwrap_or(Value::Null);
    Sent {
        to,
        text: item["TextContent"].as_str().unwrap_or_default().to_owned(),
        msg_type: item["MsgType"].as_i64().unwrap_or_default(),
        at: item["AtWxIDList"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        key: request.param("key"),
        items: items.len(),
        status: request.status.as_u16(),
        code: answered_code(&request),
    }
}

/// The `Code` the fake answered with, from the body it answered.
fn answered_code(request: &Received) -> i64 {
    serde_json::from_str::<Value>(&request.answer)
        .ok()
        .and_then(|v| v["Code"].as_i64())
        .unwrap_or_default()
}
