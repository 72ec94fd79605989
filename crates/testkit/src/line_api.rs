//! A fake LINE Messaging API on `127.0.0.1:0`: the Reply API (`POST /v2/bot/message/reply`)
//! and the Push API (`POST /v2/bot/message/push`) as LINE answers them — a bearer token
//! required, each reply token good once (`400 Invalid reply token` after), a push whose
//! `X-Line-Retry-Key` was accepted before answered `409` — or as scripted: a status, a delay,
//! LINE's rate limit enforced.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

const REPLY: &str = "/v2/bot/message/reply";
const PUSH: &str = "/v2/bot/message/push";

/// Which API a message went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Api {
    /// The Reply API, with an event's reply token.
    Reply,
    /// The Push API, to a user, group or room.
    Push,
}

/// One request to the fake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// Reply or push.
    pub api: Api,
    /// The reply token (Reply API).
    pub reply_token: String,
    /// `to` (Push API).
    pub to: String,
    /// Each text message's text, in order.
    pub texts: Vec<String>,
    /// The bearer token it was sent with.
    pub token: String,
    /// `X-Line-Retry-Key` (Push API).
    pub retry_key: String,
    /// The status the fake answered with.
    pub status: u16,
}

impl Sent {
    /// The texts, joined: what the user reads.
    pub fn text(&self) -> String {
        self.texts.concat()
    }
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

#[derive(Default)]
struct Messaging {
    used_tokens: Mutex<HashSet<String>>,
    accepted_keys: Mutex<HashSet<String>>,
}

fn message(text: &str) -> String {
    serde_json::json!({ "message": text }).to_string()
}

fn json(request: &Received) -> Value {
    serde_json::from_slice(&request.body).unwrap_or(Value::Null)
}

impl fake_api::Platform for Messaging {
    fn check(&self, request: &Received) -> Option<Answer> {
        if request.path != REPLY && request.path != PUSH {
            return Some(Answer::new(StatusCode::NOT_FOUND, message("Not found")));
        }
        let bearer = request.header("authorization");
        if bearer.strip_prefix("Bearer ").is_none_or(str::is_empty) {
            return Some(Answer::new(
                StatusCode::UNAUTHORIZED,
                message("Authentication failed due to the following reason: invalid token."),
            ));
        }
        let body = json(request);
        let messages = body["messages"].as_array().map_or(0, Vec::len);
        let texts_ok = body["messages"].as_array().is_some_and(|all| {
            all.iter()
                .all(|m| m["type"] == "text" && m["text"].is_string())
        });
        if !(1..=5).contains(&messages) || !texts_ok {
            return Some(Answer::new(
                StatusCode::BAD_REQUEST,
                message("The request body has 1 error(s)"),
            ));
        }
        if request.path == REPLY {
            let token = body["replyToken"].as_str().unwrap_or_default();
            let used = self.used_tokens.lock().unwrap_or_else(|e| e.into_inner());
            if token.is_empty() || used.contains(token) {
                return Some(Answer::new(
                    StatusCode::BAD_REQUEST,
                    message("Invalid reply token"),
                ));
            }
        } else {
            if body["to"].as_str().is_none_or(str::is_empty) {
                return Some(Answer::new(
                    StatusCode::BAD_REQUEST,
                    message("The request body has 1 error(s)"),
                ));
            }
            let key = request.header("x-line-retry-key");
            let accepted = self.accepted_keys.lock().unwrap_or_else(|e| e.into_inner());
            if !key.is_empty() && accepted.contains(&key) {
                return Some(
                    Answer::new(
                        StatusCode::CONFLICT,
                        message("The retry key is already accepted"),
                    )
                    .header("x-line-accepted-request-id", "accepted-before"),
                );
            }
        }
        None
    }

    fn sent(&self, request: &Received) -> Answer {
        // Only a request LINE took uses up its token or its retry key.
        let body = json(request);
        if request.path == REPLY {
            let token = body["replyToken"].as_str().unwrap_or_default().to_owned();
            self.used_tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token);
        } else {
            let key = request.header("x-line-retry-key");
            if !key.is_empty() {
                self.accepted_keys
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key);
            }
        }
        Answer::new(
            StatusCode::OK,
            r#"{"sentMessages":[{"id":"461230966842064897"}]}"#,
        )
    }

    fn failed(&self, status: StatusCode) -> Answer {
        Answer::new(status, message("scripted failure"))
    }

    fn limited(&self, _limit: &Limit, _wait: Duration) -> Answer {
        // LINE's 429 says nothing about when to come back.
        Answer::new(StatusCode::TOO_MANY_REQUESTS, message("Too Many Requests"))
    }
}

impl FakeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        Self {
            server: FakeServer::start(Messaging::default()).await,
        }
    }

    /// The API base to configure (`api_base`).
    pub fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The next sends are answered with HTTP `status`, one each, in order; then as usual.
    pub fn answer(&self, status: u16) {
        self.server
            .script(fake_api::status(&Messaging::default(), status));
    }

    /// The next send is answered `429` saying the month's quota is spent.
    pub fn quota_spent(&self) {
        self.server.script(Answer::new(
            StatusCode::TOO_MANY_REQUESTS,
            message("You have reached your monthly limit."),
        ));
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Answers 429 past `max` sends in `window`, for the whole channel (LINE's limit is per
    /// channel).
    pub fn enforce_limit(&self, max: usize, window: Duration) {
        self.server.enforce(Limit {
            name: "channel",
            max,
            window,
            key: |request| request.header("authorization"),
        });
    }

    /// How many sends the limit refused.
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

    /// The next message LINE took (a 2xx): one that reached the chat.
    pub async fn next_message(&mut self) -> Sent {
        loop {
            let sent = self.next_send().await;
            if (200..300).contains(&sent.status) {
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
    let body = json(&request);
    let texts = body["messages"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|m| m["text"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Sent {
        api: if request.path == REPLY {
            Api::Reply
        } else {
            Api::Push
        },
        reply_token: body["replyToken"].as_str().unwrap_or_default().to_owned(),
        to: body["to"].as_str().unwrap_or_default().to_owned(),
        texts,
        token: request
            .header("authorization")
            .trim_start_matches("Bearer ")
            .to_owned(),
        retry_key: request.header("x-line-retry-key"),
        status: request.status.as_u16(),
    }
}
