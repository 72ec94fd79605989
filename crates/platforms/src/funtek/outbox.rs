//! The IMKit platform-API client that sends a FUNTEK bot's messages outside the webhook's
//! response (late replies, proactive messages): `POST {api_base}/rooms/{roomID}/message` with
//! `IM-API-KEY`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;

use super::reply_extra;
use super::wire::{ApiAnswer, ReplyMessage, SendMessage};
use crate::api::{ApiClient, ClientError, classify, detail, retry_after};
use crate::auth::Secret;
use crate::{Outbox, OutboxError, Outgoing};

/// The platform API's key header.
pub const API_KEY_HEADER: &str = "im-api-key";

/// Sends messages into IMKit rooms with the platform's API key. The answer's envelope says
/// whether it worked: `RC` 0 is success; another `RC` is retried (the platform documents no
/// codes), and HTTP errors are classified as usual (429 waited out, honouring its
/// `retryAfter`).
///
/// IMKit has no API that sets a room's `botState`: a state change can only travel in the
/// webhook's response, so a late reply's transition is lost (the server logs and counts it).
pub struct ImkitOutbox {
    api: ApiClient,
    key: Secret,
    sender_id: Option<String>,
    client_ids: bool,
}

impl ImkitOutbox {
    /// A client for `api_base` (`https://<app>.imkit.io`) with this API key.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, key: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("IMKit", api_base)?,
            key,
            sender_id: None,
            client_ids: false,
        })
    }

    /// Sends as this client id (the bot's `senderID`), unless a reply names its own.
    #[must_use]
    pub fn with_sender_id(mut self, sender_id: impl Into<String>) -> Self {
        self.sender_id = Some(sender_id.into());
        self
    }

    /// Whether each message carries its stable id as `_id`, so that a resend updates the
    /// message instead of posting it twice (default: no; IMKit documents `_id` for updating
    /// an existing message, not what it does with one it does not know).
    #[must_use]
    pub fn with_client_ids(mut self, client_ids: bool) -> Self {
        self.client_ids = client_ids;
        self
    }

    /// The API base messages are sent to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }
}

#[async_trait]
impl Outbox for ImkitOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(message) = outgoing.reply.out_message() else {
            return Ok(());
        };
        let room = outgoing.conversation.as_str();
        if room.is_empty() || room.contains(['/', '?', '#']) {
            return Err(OutboxError::permanent(
                "the IMKit room id cannot be a path segment",
            ));
        }
        let extra = reply_extra(message.extra());
        let wire = SendMessage {
            id: self.client_ids.then_some(outgoing.message_id.as_str()),
            sender: outgoing.reply.sender_id().or(self.sender_id.as_deref()),
            message: ReplyMessage {
                message: message.body(),
                message_type: message.message_type(),
                extra: &extra,
            },
        };
        let body = serde_json::to_vec(&wire)
            .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))?;
        let request = self
            .api
            .post(&format!("/rooms/{room}/message"))
            .header(API_KEY_HEADER, self.key.expose())
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .body(body);
        let response = self.api.send(request).await?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(response.headers());
            return Err(refused(status, wait, &detail(response).await));
        }
        let answer = detail(response).await;
        match serde_json::from_str::<ApiAnswer>(&answer) {
            Ok(ApiAnswer { rc: Some(0), .. }) => Ok(()),
            Ok(ApiAnswer {
                rc: Some(rc), rm, ..
            }) => Err(OutboxError::transient(format!(
                "IMKit answered RC {rc}: {}",
                rm.unwrap_or_default()
            ))),
            _ => Err(OutboxError::transient(format!(
                "IMKit answered without an RC: {answer}"
            ))),
        }
    }
}

/// The failure an HTTP error means; a 429 whose wait is only in its body
/// (`"retryAfter": 60`) waits that long.
fn refused(status: StatusCode, header_wait: Option<Duration>, body: &str) -> OutboxError {
    let body_wait = serde_json::from_str::<ApiAnswer>(body)
        .ok()
        .and_then(|answer| answer.retry_after)
        .map(Duration::from_secs);
    classify(
        status,
        header_wait.or(body_wait),
        format!("IMKit answered {status}: {body}"),
    )
}

impl fmt::Debug for ImkitOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImkitOutbox")
            .field("api_base", &self.api.base())
            .field("key", &self.key)
            .field("sender_id", &self.sender_id)
            .field("client_ids", &self.client_ids)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_429_waits_as_its_header_or_body_asks() {
        let body = r#"{"RC":429,"RM":"Too many requests","retryAfter":7}"#;
        let limited = refused(StatusCode::TOO_MANY_REQUESTS, None, body);
        assert!(limited.is_rate_limited());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        let header = Some(Duration::from_secs(60));
        assert_eq!(
            refused(StatusCode::TOO_MANY_REQUESTS, header, body).retry_after(),
            header
        );
        let unauthorized = refused(StatusCode::UNAUTHORIZED, None, r#"{"RC":401}"#);
        assert!(!unauthorized.is_transient());
        assert!(refused(StatusCode::BAD_GATEWAY, None, "").is_transient());
    }

    #[test]
    fn the_key_never_prints() {
        let outbox = ImkitOutbox::new("https://app.imkit.io/", Secret::new("im-key-1"))
            .expect("valid")
            .with_sender_id("bot");
        assert_eq!(outbox.api_base(), "https://app.imkit.io");
        assert!(!format!("{outbox:?}").contains("im-key-1"));
        assert!(ImkitOutbox::new("mailto:x", Secret::new("k")).is_err());
    }
}
