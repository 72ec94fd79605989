//! The generic HTTP outbox: every message POSTed as JSON to a URL of the user's, signed as
//! Standard Webhooks sign. For platforms with no send API (Kamigo), and for anything else that
//! should hear what the bot says.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::Serialize;

use crate::api::{ApiClient, ClientError};
use crate::standard_webhooks::{ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret};
use crate::{ChannelSettings, Outbox, OutboxError, Outgoing, SettingError};

/// POSTs each message to one URL:
///
/// ```json
/// {"channel":"kamigo","platform":"kamigo","conversation":"C123","delivery_id":"message.received:m1",
///  "message_id":"reply-message.received:m1","text":"hello","message_type":"text"}
/// ```
///
/// `delivery_id` is absent for a proactive message. The headers `webhook-id` (the message id,
/// the same on every attempt, so the receiver can drop a resend), `webhook-timestamp` and
/// `webhook-signature` (`v1,<base64>`) let the receiver verify it with any Standard Webhooks
/// library. A 2xx answer is success; 429 is waited out, 5xx and 408 retried, others final.
pub struct HttpOutbox {
    api: ApiClient,
    secret: WebhookSecret,
}

/// The JSON posted for one message.
#[derive(Serialize)]
struct Posted<'a> {
    channel: &'a str,
    platform: &'a str,
    conversation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_id: Option<&'a str>,
    message_id: &'a str,
    text: &'a str,
    message_type: &'a str,
    /// The reply's platform fields beyond the text (`OutMessage::with_field`), when it has some.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    fields: &'a serde_json::Map<String, serde_json::Value>,
}

impl HttpOutbox {
    /// Posts to `url`, signing with `secret`.
    ///
    /// # Errors
    /// When `url` is not an http(s) URL, or the TLS client cannot be set up.
    pub fn new(url: &str, secret: WebhookSecret) -> Result<Self, ClientError> {
        Ok(Self {
            api: ApiClient::new("HTTP outbox", url)?,
            secret,
        })
    }

    /// The outbox a channel's settings ask for: `outbox_url` and `outbox_secret` (a `whsec_`
    /// secret), or `None` when neither is set.
    ///
    /// # Errors
    /// When one is set without the other, the secret is not a Standard Webhooks secret, or the
    /// URL is not http(s); the error names the setting, never its value.
    pub fn from_settings(settings: &ChannelSettings) -> Result<Option<Self>, SettingError> {
        let secret = settings.secrets("outbox_secret")?.into_iter().next();
        let (url, secret) = match (settings.text("outbox_url")?, secret) {
            (None, None) => return Ok(None),
            (Some(url), Some(secret)) => (url, secret),
            (Some(_), None) => {
                return Err(settings.error(
                    "outbox_secret",
                    "missing: outbox_url needs a whsec_ secret to sign with",
                ));
            }
            (None, Some(_)) => {
                return Err(settings.error("outbox_url", "missing: outbox_secret needs a URL"));
            }
        };
        let secret = WebhookSecret::parse(&secret)
            .map_err(|e| settings.error("outbox_secret", &e.to_string()))?;
        Self::new(url, secret)
            .map(Some)
            .map_err(|e| settings.error("outbox_url", &e.to_string()))
    }

    /// The URL messages are posted to.
    pub fn url(&self) -> &str {
        self.api.base()
    }
}

#[async_trait]
impl Outbox for HttpOutbox {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let Some(message) = outgoing.reply.out_message() else {
            return Ok(());
        };
        let posted = Posted {
            channel: &outgoing.channel,
            platform: outgoing.platform,
            conversation: &outgoing.conversation,
            delivery_id: outgoing.delivery_id.as_deref(),
            message_id: &outgoing.message_id,
            text: message.body(),
            message_type: message.message_type(),
            fields: message.extra(),
        };
        let body = serde_json::to_vec(&posted)
            .map_err(|e| OutboxError::permanent(format!("cannot encode the message: {e}")))?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let signature = self.secret.sign(&outgoing.message_id, timestamp, &body);
        let request = self
            .api
            .post_url()
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, &outgoing.message_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body);
        let response = self.api.send(request).await?;
        if response.status().is_success() {
            return Ok(());
        }
        Err(self.api.failure(response).await)
    }
}

impl fmt::Debug for HttpOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only where it goes: a URL may carry credentials.
        let origin = reqwest::Url::parse(self.api.base())
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        f.debug_struct("HttpOutbox")
            .field("url", &origin)
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;

    #[test]
    fn the_url_must_be_http_and_the_secret_never_prints() {
        let secret = WebhookSecret::parse(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
            .expect("a secret");
        assert!(HttpOutbox::new("file:///etc/passwd", secret.clone()).is_err());
        let outbox =
            HttpOutbox::new("http://bot:pw@127.0.0.1:1/hook?token=t1", secret).expect("valid");
        assert_eq!(outbox.url(), "http://bot:pw@127.0.0.1:1/hook?token=t1");
        let shown = format!("{outbox:?}");
        assert!(
            !shown.contains("MfKQ") && !shown.contains("pw") && !shown.contains("t1"),
            "{shown}"
        );
    }

    #[test]
    fn settings_need_both_keys_and_name_the_one_to_fix() {
        let none = ChannelSettings::new("kamigo");
        assert!(HttpOutbox::from_settings(&none).expect("fine").is_none());
        let url_only = ChannelSettings::new("kamigo").with("outbox_url", "http://127.0.0.1:1/");
        let error = HttpOutbox::from_settings(&url_only).expect_err("no secret");
        assert_eq!(error.origin, "kamigo.outbox_secret");
        let secret_only = ChannelSettings::new("kamigo").with("outbox_secret", "whsec_AAAA");
        let error = HttpOutbox::from_settings(&secret_only).expect_err("no url");
        assert_eq!(error.origin, "kamigo.outbox_url");
        let bad_secret = url_only.clone().with("outbox_secret", "whsec_!!hunter2");
        let error = HttpOutbox::from_settings(&bad_secret).expect_err("not base64");
        assert_eq!(error.origin, "kamigo.outbox_secret");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let bad_url = ChannelSettings::new("kamigo")
            .with("outbox_url", "ftp://x")
            .with("outbox_secret", "whsec_AAAA");
        assert_eq!(
            HttpOutbox::from_settings(&bad_url)
                .expect_err("not http")
                .origin,
            "kamigo.outbox_url"
        );
        let good = url_only.with("outbox_secret", "whsec_AAAA");
        assert!(HttpOutbox::from_settings(&good).expect("valid").is_some());
    }
}
