//! Follow-ups: `POST {api_base}/webhooks/{application_id}/{interaction token}`, the reply of a
//! handler that missed the interaction's 3 seconds.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;

use super::wire::ApiError;
use super::{TEXT_LIMIT, token_of};
use crate::api::{ApiClient, ClientError, classify, retry_after};
use crate::text::pieces;
use crate::{Outbox, OutboxError, Outgoing};

/// Sends a late reply as a follow-up message of the interaction it answers, with the
/// interaction's own token (valid 15 minutes; no bot token is needed). An interaction's
/// follow-ups are all it can send: a message that answers no interaction cannot go out
/// ([`speaks_first`](Outbox::speaks_first) is `false`, so the server refuses one up front).
pub struct DiscordOutbox {
    api: ApiClient,
    application_id: String,
}

impl DiscordOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`](super::DEFAULT_API_BASE)) following up
    /// interactions of application `application_id`.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, application_id: &str) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("Discord", api_base)?,
            application_id: application_id.to_owned(),
        })
    }

    /// The API base follow-ups are posted to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }
}

#[async_trait]
impl Outbox for DiscordOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let Some(token) = outgoing.event.as_ref().and_then(token_of) else {
            return Err(OutboxError::permanent(
                "a Discord follow-up needs the interaction it answers",
            ));
        };
        // The token is in the path; ApiClient never prints a URL.
        let path = format!("/webhooks/{}/{token}", self.application_id);
        for piece in pieces(text, TEXT_LIMIT) {
            let body = serde_json::json!({ "content": piece });
            let request = self
                .api
                .post(&path)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
            let response = self.api.send(request).await?;
            let status = response.status();
            if !status.is_success() {
                let header_wait = retry_after(response.headers());
                let text = crate::api::detail(response).await;
                let error = serde_json::from_str::<ApiError>(&text).ok();
                let wait = error
                    .as_ref()
                    .and_then(|e| e.retry_after)
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64)
                    .or(header_wait);
                let message = error.and_then(|e| e.message).unwrap_or(text);
                return Err(failure(status, wait, &message));
            }
        }
        Ok(())
    }

    fn speaks_first(&self) -> bool {
        false
    }
}

/// What a refusal means. An interaction's token lasts 15 minutes: past it (401, or 404 for
/// the webhook) the follow-up can never go out.
fn failure(status: StatusCode, wait: Option<Duration>, message: &str) -> OutboxError {
    classify(
        status,
        wait,
        format!("Discord answered {status}: {message}"),
    )
}

impl fmt::Debug for DiscordOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordOutbox")
            .field("api_base", &self.api.base())
            .field("application_id", &self.application_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified() {
        let limited = failure(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_millis(1500)),
            "You are being rate limited.",
        );
        assert!(limited.is_rate_limited());
        assert_eq!(limited.retry_after(), Some(Duration::from_millis(1500)));
        assert!(!failure(StatusCode::UNAUTHORIZED, None, "Invalid Webhook Token").is_transient());
        assert!(!failure(StatusCode::NOT_FOUND, None, "Unknown Webhook").is_transient());
        assert!(failure(StatusCode::BAD_GATEWAY, None, "").is_transient());
        let outbox = DiscordOutbox::new("http://127.0.0.1:1/", "290926444748734465").expect("ok");
        assert!(!outbox.speaks_first());
        assert!(outbox.delivers());
        assert!(DiscordOutbox::new("gopher://x", "1").is_err());
    }
}
