//! `POST /conversations/{channel}/{conversation}/messages`, body `{"text": "…"}`: a message
//! the bot sends by itself, answered `202 {"id": "…"}` once the queue holds it.

use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Limited};
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
