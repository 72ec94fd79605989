//! The Slack Web API client that sends replies: `POST {api_base}/api/chat.postMessage`.

use std::fmt;

use async_trait::async_trait;
use http::StatusCode;

use super::wire::{Answering, ApiAnswer, PostMessage};
use crate::api::{ApiClient, ClientError, classify, retry_after};
use crate::auth::Secret;
use crate::text::pieces;
use crate::{Outbox, OutboxError, Outgoing};

/// The most characters Slack keeps of one message's text.
const TEXT_LIMIT: usize = 40_000;
/// Slack's `error`s that say to try again later.
const TRANSIENT: [&str; 4] = [
    "internal_error",
    "fatal_error",
    "request_timeout",
    "service_unavailable",
];

/// Posts replies with the bot token (`xoxb-…`), in the thread of the message they answer.
/// Slack answers most failures with HTTP 200 and `"ok": false`: `ratelimited` (or a 429) is
/// waited out, its server-side errors are retried, anything else (`channel_not_found`,
/// `not_in_channel`, `invalid_auth`) is a dead letter.
pub struct SlackOutbox {
    api: ApiClient,
    token: Secret,
}

impl SlackOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`](super::DEFAULT_API_BASE)) with the
    /// bot token.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, token: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("Slack", api_base)?,
            token,
        })
    }

    /// The API base messages are sent to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }

    async fn post(&self, message: &PostMessage<'_>) -> Result<(), OutboxError> {
        let body = serde_json::to_vec(message)
            .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))?;
        let request = self
            .api
            .post("/api/chat.postMessage")
            .bearer_auth(self.token.expose())
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body);
        let response = self.api.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let text = crate::api::detail(response).await;
        let answer = serde_json::from_str::<ApiAnswer>(&text).ok();
        if status.is_success() && answer.as_ref().is_some_and(|a| a.ok) {
            return Ok(());
        }
        let error = answer.and_then(|a| a.error).unwrap_or(text);
        Err(failure(status, wait, &error))
    }
}

/// What an answer that is not `"ok": true` means: Slack says most in its `error`.
fn failure(status: StatusCode, wait: Option<std::time::Duration>, error: &str) -> OutboxError {
    let status = match error {
        "ratelimited" => StatusCode::TOO_MANY_REQUESTS,
        e if TRANSIENT.contains(&e) => StatusCode::SERVICE_UNAVAILABLE,
        _ if status.is_success() => StatusCode::BAD_REQUEST,
        _ => status,
    };
    classify(status, wait, format!("Slack answered {error}"))
}

#[async_trait]
impl Outbox for SlackOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        if outgoing.conversation.is_empty() {
            return Err(OutboxError::permanent("no Slack channel to post to"));
        }
        // A reply to a message in a thread stays in that thread.
        let thread = outgoing
            .event
            .as_ref()
            .and_then(|event| event.payload::<Answering>().ok())
            .and_then(|answering| answering.event.thread_ts);
        for piece in pieces(text, TEXT_LIMIT) {
            self.post(&PostMessage {
                channel: &outgoing.conversation,
                text: piece,
                thread_ts: thread.as_deref(),
            })
            .await?;
        }
        Ok(())
    }
}

impl fmt::Debug for SlackOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackOutbox")
            .field("api_base", &self.api.base())
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_slacks_own_words() {
        let ok = StatusCode::OK;
        let limited = failure(
            StatusCode::TOO_MANY_REQUESTS,
            Some(std::time::Duration::from_secs(3)),
            "ratelimited",
        );
        assert!(limited.is_rate_limited());
        assert_eq!(
            limited.retry_after(),
            Some(std::time::Duration::from_secs(3))
        );
        assert!(failure(ok, None, "ratelimited").is_rate_limited());
        for transient in TRANSIENT {
            let error = failure(ok, None, transient);
            assert!(
                error.is_transient() && !error.is_rate_limited(),
                "{transient}"
            );
        }
        for permanent in [
            "channel_not_found",
            "not_in_channel",
            "invalid_auth",
            "msg_too_long",
        ] {
            assert!(!failure(ok, None, permanent).is_transient(), "{permanent}");
        }
        assert!(failure(StatusCode::BAD_GATEWAY, None, "<html>").is_transient());
        assert_eq!(
            failure(ok, None, "channel_not_found").to_string(),
            "Slack answered channel_not_found"
        );
    }

    #[test]
    fn the_token_never_prints() {
        let outbox =
            SlackOutbox::new("http://127.0.0.1:1/", Secret::new("xoxb-slack-9")).expect("valid");
        assert_eq!(outbox.api_base(), "http://127.0.0.1:1");
        assert!(!format!("{outbox:?}").contains("xoxb-slack-9"));
        assert!(SlackOutbox::new("gopher://x", Secret::new("t")).is_err());
    }
}
