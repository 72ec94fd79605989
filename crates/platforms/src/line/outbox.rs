//! The LINE client that sends replies: the Reply API with the event's reply token while it is
//! fresh, else (and for messages the bot sends by itself) the Push API.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::StatusCode;
use sha2::{Digest, Sha256};

use super::DEFAULT_REPLY_WINDOW;
use super::wire::{Answering, PushRequest, ReplyRequest, Text};
use crate::api::{ApiClient, ClientError, classify, retry_after};
use crate::auth::Secret;
use crate::text::pieces;
use crate::{Outbox, OutboxError, Outgoing};

/// The most characters one text message holds.
const TEXT_LIMIT: usize = 5_000;
/// The most messages one request carries.
const MESSAGES_LIMIT: usize = 5;

/// Sends replies with a channel access token. A reply to an event goes through the Reply API
/// (free, and shown as an answer) when the event is younger than the reply window and has a
/// token; otherwise, or when LINE says the token is no longer valid, through the Push API,
/// whose `X-Line-Retry-Key` (derived from the message id) makes a resend after a lost answer
/// a no-op rather than a second message.
pub struct LineOutbox {
    api: ApiClient,
    token: Secret,
    reply_window: Duration,
}

impl LineOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`](super::DEFAULT_API_BASE)) with this
    /// channel access token.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, token: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("LINE", api_base)?,
            token,
            reply_window: DEFAULT_REPLY_WINDOW,
        })
    }

    /// How long after its event a reply still uses the reply token (default 50 s).
    #[must_use]
    pub fn with_reply_window(mut self, window: Duration) -> Self {
        self.reply_window = window;
        self
    }

    /// The API base messages are sent to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }

    /// The answered event's reply token, when it is still fresh.
    fn fresh_reply_token(&self, outgoing: &Outgoing) -> Option<String> {
        let answering: Answering = outgoing.event.as_ref()?.payload().ok()?;
        let token = answering.reply_token.filter(|t| !t.is_empty())?;
        let sent_at = UNIX_EPOCH + Duration::from_millis(answering.timestamp?);
        let age = SystemTime::now()
            .duration_since(sent_at)
            .unwrap_or_default();
        (age < self.reply_window).then_some(token)
    }

    async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        retry_key: Option<&str>,
    ) -> Result<reqwest::Response, OutboxError> {
        let mut request = self
            .api
            .post(path)
            .bearer_auth(self.token.expose())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = retry_key {
            request = request.header("x-line-retry-key", key);
        }
        self.api.send(request).await
    }
}

#[async_trait]
impl Outbox for LineOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let messages = texts(text)?;
        if let Some(token) = self.fresh_reply_token(outgoing) {
            let body = encode(&ReplyRequest {
                reply_token: &token,
                messages: &messages,
            })?;
            let response = self.post("/v2/bot/message/reply", body, None).await?;
            if response.status().is_success() {
                return Ok(());
            }
            let status = response.status();
            let wait = retry_after(response.headers());
            let detail = crate::api::detail(response).await;
            // A token used already, or expired sooner than the window: push instead.
            if !(status == StatusCode::BAD_REQUEST && detail.contains("reply token")) {
                return Err(failure(status, wait, &detail));
            }
        }
        let to = outgoing.conversation.as_str();
        if to.is_empty() {
            return Err(OutboxError::permanent(
                "no LINE user, group or room to push to",
            ));
        }
        let body = encode(&PushRequest {
            to,
            messages: &messages,
        })?;
        let key = retry_key(&outgoing.message_id);
        let response = self.post("/v2/bot/message/push", body, Some(&key)).await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            // This retry key was accepted before: the message went out.
            StatusCode::CONFLICT => Ok(()),
            status => {
                let wait = retry_after(response.headers());
                let detail = crate::api::detail(response).await;
                Err(failure(status, wait, &detail))
            }
        }
    }
}

/// `text` as LINE text messages of at most 5,000 characters, at most five.
fn texts(text: &str) -> Result<Vec<Text<'_>>, OutboxError> {
    let messages: Vec<Text<'_>> = pieces(text, TEXT_LIMIT)
        .map(|text| Text { kind: "text", text })
        .collect();
    if messages.len() > MESSAGES_LIMIT {
        return Err(OutboxError::permanent(format!(
            "the reply is longer than LINE takes at once ({} characters)",
            TEXT_LIMIT * MESSAGES_LIMIT
        )));
    }
    Ok(messages)
}

fn encode(request: &impl serde::Serialize) -> Result<Vec<u8>, OutboxError> {
    serde_json::to_vec(request)
        .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))
}

/// What LINE's answer means. A 429 for the month's message quota is not a rate limit to wait
/// out: it lasts until the month ends, so the reply becomes a dead letter to replay then.
fn failure(status: StatusCode, wait: Option<Duration>, detail: &str) -> OutboxError {
    let message = format!("LINE answered {status}: {detail}");
    if status == StatusCode::TOO_MANY_REQUESTS && detail.contains("monthly limit") {
        return OutboxError::permanent(message);
    }
    classify(status, wait, message)
}

/// The `X-Line-Retry-Key` for `message_id`: a UUID, the same for every attempt.
fn retry_key(message_id: &str) -> String {
    let digest = Sha256::digest(message_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

impl fmt::Debug for LineOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineOutbox")
            .field("api_base", &self.api.base())
            .field("token", &self.token)
            .field("reply_window", &self.reply_window)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_replies_are_split_and_too_long_ones_refused() {
        assert_eq!(texts("hi").expect("fits").len(), 1);
        let long = "字".repeat(TEXT_LIMIT * 2 + 1);
        let parts = texts(&long).expect("fits");
        assert_eq!(
            parts
                .iter()
                .map(|t| t.text.chars().count())
                .collect::<Vec<_>>(),
            [TEXT_LIMIT, TEXT_LIMIT, 1]
        );
        let error = texts(&"x".repeat(TEXT_LIMIT * MESSAGES_LIMIT + 1)).expect_err("too long");
        assert!(!error.is_transient());
    }

    #[test]
    fn retry_keys_are_stable_uuids() {
        let key = retry_key("reply-01FZ74A0TDDPYRVKNK77XKC3ZR");
        assert_eq!(key, retry_key("reply-01FZ74A0TDDPYRVKNK77XKC3ZR"));
        assert_ne!(key, retry_key("reply-other"));
        assert!(uuid::Uuid::parse_str(&key).is_ok(), "{key}");
    }

    #[test]
    fn the_monthly_quota_is_not_waited_out() {
        let quota = failure(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            r#"{"message":"You have reached your monthly limit."}"#,
        );
        assert!(!quota.is_transient());
        let limited = failure(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            r#"{"message":"Too Many Requests"}"#,
        );
        assert!(limited.is_rate_limited());
    }

    #[test]
    fn the_token_never_prints() {
        let outbox =
            LineOutbox::new("http://127.0.0.1:1/", Secret::new("line-token-1")).expect("valid");
        assert_eq!(outbox.api_base(), "http://127.0.0.1:1");
        assert!(!format!("{outbox:?}").contains("line-token-1"));
        assert!(LineOutbox::new("gopher://x", Secret::new("t")).is_err());
    }
}
