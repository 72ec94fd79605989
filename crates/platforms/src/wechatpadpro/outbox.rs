//! The WeChatPadPro client that sends replies:
//! `POST {api_base}/message/SendTextMessage?key={auth key}`.

use std::fmt;

use async_trait::async_trait;

use super::wire::{ApiAnswer, SendText, TextItem};
use crate::api::{ApiClient, ClientError, classify};
use crate::auth::Secret;
use crate::{Outbox, OutboxError, Outgoing};

/// The `Code` the gateway answers a message it sent with.
const SENT: i64 = 200;

/// Sends replies through a WeChatPadPro gateway with the account's auth key. A reply in a
/// group goes to the `…@chatroom`; with [`with_mention`](Self::with_mention) it also mentions
/// the member who wrote.
///
/// The gateway answers HTTP 200 for most failures and says what happened in the body's
/// `Code` (200: sent). Its other codes are not documented, so: 429 is a rate limit, another
/// 4xx code means the request or the key was refused (not retried), and anything else (the
/// account offline, a gateway error) is retried with backoff.
pub struct WeChatPadProOutbox {
    api: ApiClient,
    key: Secret,
    mention: bool,
}

impl WeChatPadProOutbox {
    /// A client for the gateway at `api_base` (with any version prefix, e.g.
    /// `http://127.0.0.1:1239/v849`) sending as the account of auth key `key`.
    ///
    /// # Errors
    /// When `api_base` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(api_base: &str, key: Secret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("WeChatPadPro", api_base)?,
            key,
            mention: false,
        })
    }

    /// Whether a reply in a group mentions the member who wrote (default: no). The member's
    /// wxid goes in `AtWxIDList`; `@name ` starts the text when the delivery named them.
    #[must_use]
    pub fn with_mention(mut self, mention: bool) -> Self {
        self.mention = mention;
        self
    }

    /// The API base messages are sent to.
    pub fn api_base(&self) -> &str {
        self.api.base()
    }
}

#[async_trait]
impl Outbox for WeChatPadProOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(text) = outgoing.text().filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let to = outgoing.conversation.as_str();
        if to.is_empty() {
            return Err(OutboxError::permanent(
                "no WeChat user or chatroom to send to",
            ));
        }
        let member = outgoing
            .event
            .as_ref()
            .and_then(|event| event.sender())
            .filter(|_| self.mention && to.ends_with("@chatroom"))
            .filter(|member| !member.id.is_empty() && member.id != to);
        let text = match member.and_then(|m| m.display_name.as_deref()) {
            Some(name) => format!("@{name} {text}"),
            None => text.to_owned(),
        };
        let message = SendText {
            msg_item: [TextItem {
                to_user_name: to,
                text_content: &text,
                msg_type: 1,
                at_wx_id_list: member.map(|m| vec![m.id.as_str()]).unwrap_or_default(),
            }],
        };
        let body = serde_json::to_vec(&message)
            .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))?;
        let request = self
            .api
            .post("/message/SendTextMessage")
            .query(&[("key", self.key.expose())])
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body);
        let response = self.api.send(request).await?;
        if !response.status().is_success() {
            return Err(self.api.failure(response).await);
        }
        let answer = crate::api::detail(response).await;
        match serde_json::from_str::<ApiAnswer>(&answer) {
            Ok(ApiAnswer {
                code: Some(SENT), ..
            }) => Ok(()),
            Ok(ApiAnswer {
                code: Some(code),
                text,
            }) => Err(refused(code, text.as_deref().unwrap_or_default())),
            _ => Err(OutboxError::transient(format!(
                "WeChatPadPro answered without a Code: {answer}"
            ))),
        }
    }
}

/// The failure a `Code` other than 200 means.
fn refused(code: i64, text: &str) -> OutboxError {
    let message = format!("WeChatPadPro answered Code {code}: {}", text.trim());
    match u16::try_from(code)
        .ok()
        .and_then(|c| http::StatusCode::from_u16(c).ok())
    {
        Some(status) if status.is_client_error() => classify(status, None, message),
        _ => OutboxError::transient(message),
    }
}

impl fmt::Debug for WeChatPadProOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatPadProOutbox")
            .field("api_base", &self.api.base())
            .field("key", &self.key)
            .field("mention", &self.mention)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_other_than_200_are_classified() {
        assert!(!refused(401, "key invalid").is_transient());
        assert!(!refused(400, "bad request").is_transient());
        assert!(refused(429, "slow down").is_rate_limited());
        for code in [-1, -2, 0, 300, 500, 10001] {
            let error = refused(code, "x");
            assert!(error.is_transient() && !error.is_rate_limited(), "{code}");
        }
        assert_eq!(
            refused(-2, " offline ").to_string(),
            "WeChatPadPro answered Code -2: offline"
        );
    }

    #[test]
    fn the_key_never_prints() {
        let outbox = WeChatPadProOutbox::new("http://127.0.0.1:1/v849/", Secret::new("k-123"))
            .expect("valid");
        assert_eq!(outbox.api_base(), "http://127.0.0.1:1/v849");
        assert!(!format!("{outbox:?}").contains("k-123"));
        assert!(WeChatPadProOutbox::new("gopher://x", Secret::new("k")).is_err());
    }
}
