//! A fake Chatwork REST API on `127.0.0.1:0`: it records every `POST
//! /rooms/{room_id}/messages` and answers as scripted (200 by default), so a test sees exactly
//! what a bot posted, in order, and can make the API fail, slow down, or enforce Chatwork's
//! rate limits (300 calls per 5 minutes per token, 10 posts per 10 s per room; tests scale
//! them down).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;

use crate::fake_api::{self, Answer, FakeServer, Limit, Received};

/// One message posted to the fake API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Posted {
    /// The room id from the path.
    pub room: String,
    /// The `body` form field.
    pub body: String,
    /// The `X-ChatWorkToken` header.
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

/// Chatwork's paths and shapes.
struct Chatwork;

fn room(path: &str) -> Option<&str> {
    path.strip_prefix("/v2/rooms/")?.strip_suffix("/messages")
}

impl fake_api::Platform for Chatwork {
    fn check(&self, request: &Received) -> Option<Answer> {
        match room(&request.path) {
            Some(room) if !room.is_empty() => None,
            _ => Some(Answer::new(
                StatusCode::NOT_FOUND,
                r#"{"errors":["Invalid Endpoint"]}"#,
            )),
        }
    }

    fn sent(&self, _request: &Received) -> Answer {
        Answer::new(StatusCode::OK, r#"{"message_id":"1234"}"#)
    }

    fn failed(&self, status: StatusCode) -> Answer {
        Answer::new(status, r#"{"errors":["scripted failure"]}"#)
    }

    fn limited(&self, limit: &Limit, wait: Duration) -> Answer {
        if limit.name == "room" {
            return Answer::new(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"errors":["Rate limit for message posting per room exceeded."]}"#,
            );
        }
        // The token's window: Chatwork says when it resets, in unix seconds.
        let reset = SystemTime::now() + wait;
        let reset = reset
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            .ceil();
        Answer::new(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"errors":["Rate limit exceeded"]}"#,
        )
        .header("x-ratelimit-limit", limit.max.to_string())
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", format!("{reset}"))
    }
}

impl FakeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start() -> Self {
        Self {
            server: FakeServer::start(Chatwork).await,
        }
    }

    /// The API base to configure (`api_base`), like `https://api.chatwork.com/v2`.
    pub fn base(&self) -> String {
        format!("http://{}/v2", self.server.addr())
    }

    /// The next posts are answered with `status` (and these headers), one each, in order;
    /// after them, 200 again.
    pub fn answer(&self, status: u16, headers: &[(&str, &str)]) {
        let mut answer = fake_api::status(&Chatwork, status);
        for (name, value) in headers {
            answer = answer.header(name, *value);
        }
        self.server.script(answer);
    }

    /// Every answer from now on waits `delay` (zero: at once).
    pub fn slow(&self, delay: Duration) {
        self.server.delay(delay);
    }

    /// Enforces Chatwork's two limits, scaled as the test likes: `per_token` calls per token
    /// and `per_room` posts per room, each a count in a window. A post past one is answered
    /// 429 as Chatwork answers it (the token's with `x-ratelimit-*` headers).
    pub fn enforce_limits(&self, per_token: (usize, Duration), per_room: (usize, Duration)) {
        self.server.enforce(Limit {
            name: "token",
            max: per_token.0,
            window: per_token.1,
            key: |request| request.header("x-chatworktoken"),
        });
        self.server.enforce(Limit {
            name: "room",
            max: per_room.0,
            window: per_room.1,
            key: |request| room(&request.path).unwrap_or_default().to_owned(),
        });
    }

    /// How many posts the limits refused with 429.
    pub fn limited(&self) -> usize {
        self.server.limited()
    }

    /// The next post, whatever it was answered.
    ///
    /// # Panics
    /// When the fake stopped.
    pub async fn next_post(&mut self) -> Posted {
        posted(self.server.next().await)
    }

    /// The next post that was answered 2xx: a message that reached the room.
    pub async fn next_message(&mut self) -> Posted {
        loop {
            let posted = self.next_post().await;
            if (200..300).contains(&posted.status) {
                return posted;
            }
        }
    }

    /// A post received already, if there is one, without waiting.
    pub fn try_next_post(&mut self) -> Option<Posted> {
        self.server.try_next().map(posted)
    }
}

fn posted(request: Received) -> Posted {
    let body = form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == "body")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    Posted {
        room: room(&request.path).unwrap_or_default().to_owned(),
        body,
        token: request.header("x-chatworktoken"),
        status: request.status.as_u16(),
    }
}
