//! The Chatwork REST client that posts replies: `POST {api_base}/rooms/{room_id}/messages`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::HeaderMap;

use crate::api::{ApiClient, ClientError};
use crate::auth::Secret;
use crate::{Outbox, OutboxError, Outgoing};

/// Chatwork's API base.
pub const DEFAULT_API_BASE: &str = "https://api.chatwork.com/v2";
/// The window of Chatwork's limit on posts per room.
const ROOM_WINDOW: Duration = Duration::from_secs(10);

/// Posts replies to Chatwork rooms with an API token, honouring the rate limit: after a 429 or
/// a response saying no calls remain, every send waits (as a rate limit, not a failure) until
/// the limit resets.
pub struct ChatworkOutbox {
    api: ApiClient,
    token: Secret,
    paused_until: Mutex<Option<Instant>>,
}

impl ChatworkOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`]) with this API token.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, token: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("Chatwork", api_base)?,
            token,
            paused_until: Mutex::new(None),
        })
    }

    /// The API base replies are posted to.
    pub fn api_base(&self) -> &str {
        self.api.base()
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
            return Err(OutboxError::rate_limited(
                "Chatwork's rate limit is spent",
                left,
            ));
        }
        let room = &outgoing.conversation;
        if room.is_empty() || !room.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OutboxError::permanent(
                "the Chatwork room id is not a number",
            ));
        }
        let request = self
            .api
            .post(&format!("/rooms/{room}/messages"))
            .header("x-chatworktoken", self.token.expose())
            .form(&[("body", text)]);
        let response = self.api.send(request).await?;
        // The window's reset, when this answer says no calls remain (or is a 429).
        let wait = rate_limit_wait(response.headers());
        let asked = crate::api::retry_after(response.headers());
        if response.status().is_success() {
            if let Some(wait) = wait {
                self.pause(wait);
            }
            return Ok(());
        }
        let error = self.api.failure(response).await;
        if !error.is_rate_limited() {
            return Err(error);
        }
        Err(match wait {
            // The token's window is spent: every room waits for its reset.
            Some(wait) => {
                self.pause(wait);
                OutboxError::rate_limited(error.to_string(), wait)
            }
            // No reset named: the room's own limit (10 posts in 10 s). Only this room waits,
            // as long as it is asked to or for the room's window.
            None => OutboxError::rate_limited(error.to_string(), asked.unwrap_or(ROOM_WINDOW)),
        })
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
            .field("api_base", &self.api.base())
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
