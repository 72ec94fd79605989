//! `POST /conversations/{channel}/{conversation}/messages`, body `{"text": "…"}`: a message
//! the bot sends by itself, answered `202 {"id": "…"}` once the queue holds it.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::respond::{self, Body};
use crate::{App, SendError};

/// The largest body this endpoint reads: a message, not a file.
const MAX_BODY: usize = 64 * 1024;

/// What the endpoint takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewMessage {
    text: String,
    #[serde(default)]
    message_type: Option<String>,
}

/// The channel and conversation of `/conversations/{channel}/{conversation}/messages`,
/// percent-decoded; `None` for any other path.
pub(super) fn target(path: &str) -> Option<(String, String)> {
    let rest = path
        .strip_prefix("/conversations/")?
        .strip_suffix("/messages")?;
    let (channel, conversation) = rest.split_once('/')?;
    if channel.is_empty() || conversation.is_empty() || conversation.contains('/') {
        return None;
    }
    let decode = |segment: &str| {
        percent_decode_str(segment)
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    Some((decode(channel)?, decode(conversation)?))
}

/// Reads the body (within the size and time limits) and queues the message.
pub(super) async fn post<B>(
    app: &App,
    channel: &str,
    conversation: &str,
    body: B,
    read_for: Duration,
) -> Response<Body>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<botwire_core::BoxError>,
{
    let read = tokio::time::timeout(read_for, Limited::new(body, MAX_BODY).collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return respond::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "a message body is at most 64 KiB",
            );
        }
        Ok(Err(_)) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the body could not be read",
            );
        }
        Err(_) => {
            return respond::error(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time",
            );
        }
    };
    let Ok(message) = serde_json::from_slice::<NewMessage>(&bytes) else {
        return respond::error(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "expected JSON {\"text\": \"…\"} (and optionally \"message_type\")",
        );
    };
    let out = match &message.message_type {
        Some(kind) => botwire_core::OutMessage::new(kind.as_str(), message.text),
        None => botwire_core::OutMessage::text(message.text),
    };
    match app.messages().send(channel, conversation, out).await {
        Ok(id) => {
            let body = serde_json::json!({ "id": id }).to_string();
            respond::json(StatusCode::ACCEPTED, Bytes::from(body))
        }
        Err(error) => refused(&error),
    }
}

fn refused(error: &SendError) -> Response<Body> {
    let (status, code, message) = match error {
        SendError::UnknownChannel(_) => (
            StatusCode::NOT_FOUND,
            "unknown_channel",
            "no channel of this name is mounted",
        ),
        SendError::CannotSend(_) => (
            StatusCode::CONFLICT,
            "cannot_send",
            "this channel cannot send: configure its send API or an outbox_url",
        ),
        SendError::Invalid(reason) => (StatusCode::BAD_REQUEST, "invalid_message", *reason),
        SendError::QueueFull { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            "too many messages are waiting; retry later",
        ),
        SendError::Unavailable(e) => {
            tracing::warn!(error = %e, "the queue is unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the queue is unavailable",
            )
        }
    };
    respond::error(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_names_a_channel_and_a_conversation() {
        assert_eq!(
            target("/conversations/wechatpadpro/4242@chatroom/messages"),
            Some(("wechatpadpro".into(), "4242@chatroom".into()))
        );
        assert_eq!(
            target("/conversations/kamigo/a%2Fb%20c/messages"),
            Some(("kamigo".into(), "a/b c".into()))
        );
        for path in [
            "/conversations/kamigo/messages",
            "/conversations//r/messages",
            "/conversations/k/a/b/messages",
            "/conversations/k/r",
            "/conversations/k/%FF/messages",
        ] {
            assert_eq!(target(path), None, "{path}");
        }
    }
}
