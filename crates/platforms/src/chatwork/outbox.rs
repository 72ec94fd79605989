//! The Chatwork REST client that posts replies: `POST {api_base}/rooms/{room_id}/messages`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};

use crate::auth::Secret;
use crate::{Outbox, OutboxError, Outgoing};

/// Chatwork's API base.
pub const DEFAULT_API_BASE: &str = "https://api.chatwork.com/v2";
/// How long one API call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait after a 429 that names no reset time.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Posts replies to Chatwork rooms with an API token, honouring the rate limit: after a 429 or
/// a response saying no calls remain, every send waits (as a transient failure carrying the
/// time to retry) until the limit resets.
pub struct ChatworkOutbox {
    client: reqwest::Client,
    api_base: String,
    token: Secret,
    paused_until: Mutex<Option<Instant>>,
}

/// Why a [`ChatworkOutbox`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the Chatwork client: {0}")]
pub struct ClientError(String);

impl ChatworkOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`]) with this API token.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, token: Secret) -> Result<Self, ClientError> {
        let api_base = api_base.trim_end_matches('/');
        let url = reqwest::Url::parse(api_base)
            .map_err(|_| ClientError("api_base is not a URL".into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError("api_base must be an http or https URL".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("botwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError(e.to_string()))?;
        Ok(Self {
            client,
            api_base: api_base.to_owned(),
            token,
            paused_until: Mutex::new(None),
        })
    }

    /// The API base replies are posted to.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    fn pause_left(&self) -> Option<Duration> {
        let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }

    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

#[async_trait]
impl Outbox for ChatworkOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        if let Some(left) = self.pause_left() {
            return Err(
                OutboxError::transient("Chatwork's rate limit is spent").with_retry_after(left)
            );
        }
        let room = &outgoing.conversation;
        if room.is_empty() || !room.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OutboxError::permanent(
                "the Chatwork room id is not a number",
            ));
        }
        let url = format!("{}/rooms/{room}/messages", self.api_base);
        let response = self
            .client
            .post(url)
            .header("x-chatworktoken", self.token.expose())
            .form(&[("body", text)])
            .send()
            .await
            .map_err(|e| {
                // reqwest's message names the URL (no secret in it) and the cause.
                OutboxError::transient(format!("Chatwork API unreachable: {}", e.without_url()))
            })?;
        let status = response.status();
        let wait = rate_limit_wait(response.headers());
        if status.is_success() {
            if let Some(wait) = wait {
                self.pause(wait);
            }
            return Ok(());
        }
        let detail: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let message = format!("Chatwork answered {status}: {}", detail.trim());
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = wait.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
                self.pause(wait);
                Err(OutboxError::transient(message).with_retry_after(wait))
            }
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(OutboxError::transient(message))
            }
            _ => Err(OutboxError::permanent(message)),
        }
    }
}

/// How long until the rate limit resets, when the response says no calls remain (or is a 429).
fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let remaining = number("x-ratelimit-remaining");
    let reset = number("x-ratelimit-reset")?;
    if remaining.is_some_and(|r| r > 0) {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    // At least a second: a reset already past still means this window is spent.
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

impl fmt::Debug for ChatworkOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatworkOutbox")
            .field("api_base", &self.api_base)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                    v.parse().expect("value"),
                )
            })
            .collect()
    }

    #[test]
    fn rate_limit_waits_only_when_spent() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let reset = (now + 120).to_string();
        assert_eq!(
            rate_limit_wait(&headers(&[
                ("x-ratelimit-remaining", "5"),
                ("x-ratelimit-reset", &reset)
            ])),
            None
        );
        let wait = rate_limit_wait(&headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ]))
        .expect("spent");
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        // A 429 without Remaining still waits for the reset; a past reset waits a second.
        assert_eq!(
            rate_limit_wait(&headers(&[("x-ratelimit-reset", "1")])),
            Some(Duration::from_secs(1))
        );
        assert_eq!(rate_limit_wait(&headers(&[])), None);
    }

    #[test]
    fn the_base_must_be_http_and_the_token_never_prints() {
        assert!(ChatworkOutbox::new("ftp://x", Secret::new("t")).is_err());
        assert!(ChatworkOutbox::new("not a url", Secret::new("t")).is_err());
        let outbox =
            ChatworkOutbox::new("http://127.0.0.1:1/v2/", Secret::new("hunter2")).expect("valid");
        assert_eq!(outbox.api_base(), "http://127.0.0.1:1/v2");
        assert!(!format!("{outbox:?}").contains("hunter2"));
    }
}
