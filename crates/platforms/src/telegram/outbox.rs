//! The Bot API client that sends what cannot go in the webhook's answer:
//! `POST {api_base}/bot{token}/sendMessage`.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::StatusCode;

use super::TEXT_LIMIT;
use super::wire::{ApiAnswer, ChatId, SendMessage};
use crate::api::{ApiClient, ClientError, classify, retry_after};
use crate::auth::Secret;
use crate::text::pieces;
use crate::{Outbox, OutboxError, Outgoing};

/// Sends messages with the bot's token. Text longer than one message holds (4,096
/// characters) goes as several, in order. A 429 is waited out for the `retry_after` Telegram
/// names; a chat that blocked the bot or does not exist (400, 403) is a dead letter.
pub struct TelegramOutbox {
    api: ApiClient,
    token: Secret,
}

impl TelegramOutbox {
    /// A client for `api_base` (see [`DEFAULT_API_BASE`](super::DEFAULT_API_BASE)) with the
    /// bot's token (`123456:ABC-…`).
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, token: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("Telegram", api_base)?,
            token,
        })
    }

    /// The API base messages are sent to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }

    async fn send_one(&self, chat_id: ChatId<'_>, text: &str) -> Result<(), OutboxError> {
        let body = serde_json::to_vec(&SendMessage {
            method: None,
            chat_id,
            text,
        })
        .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))?;
        // The token is part of the path; ApiClient never prints a URL.
        let request = self
            .api
            .post(&format!("/bot{}/sendMessage", self.token.expose()))
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.api.send(request).await?;
        let status = response.status();
        let header_wait = retry_after(response.headers());
        let text = crate::api::detail(response).await;
        let answer = serde_json::from_str::<ApiAnswer>(&text).ok();
        if status.is_success() && answer.as_ref().is_some_and(|a| a.ok) {
            return Ok(());
        }
        let wait = answer
            .as_ref()
            .and_then(|a| a.parameters.as_ref())
            .and_then(|p| p.retry_after)
            .map(Duration::from_secs)
            .or(header_wait);
        let description = answer.and_then(|a| a.description).unwrap_or(text);
        let status = if status.is_success() {
            // 200 without `"ok": true`: not what the Bot API answers; try again later.
            StatusCode::BAD_GATEWAY
        } else {
            status
        };
        Err(classify(
            status,
            wait,
            format!("Telegram answered {status}: {description}"),
        ))
    }
}

#[async_trait]
impl Outbox for TelegramOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        if outgoing.conversation.is_empty() {
            return Err(OutboxError::permanent("no Telegram chat to send to"));
        }
        for piece in pieces(text, TEXT_LIMIT) {
            self.send_one(ChatId::of(&outgoing.conversation), piece)
                .await?;
        }
        Ok(())
    }
}

impl fmt::Debug for TelegramOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramOutbox")
            .field("api_base", &self.api.base())
            .field("token", &self.token)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let outbox = TelegramOutbox::new("http://127.0.0.1:1/", Secret::new("123456:ABC-secret"))
            .expect("valid");
        assert_eq!(outbox.api_base(), "http://127.0.0.1:1");
        assert!(!format!("{outbox:?}").contains("ABC-secret"));
        assert!(TelegramOutbox::new("gopher://x", Secret::new("t")).is_err());
    }
}
