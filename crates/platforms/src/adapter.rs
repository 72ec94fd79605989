//! The contract between the server and a platform.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Event, Reply};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;

use crate::{Outbox, RateLimits, Verified};

/// One mounted webhook of one platform.
pub trait Adapter: std::fmt::Debug + Send + Sync + 'static {
    /// The platform id.
    fn platform(&self) -> &'static str;

    /// How replies reach the platform.
    fn mode(&self) -> Mode;

    /// How long the platform waits for an answer; the server answers before it.
    fn deadline(&self) -> Duration;

    /// Checks the request's credentials over the raw body. Runs before anything is parsed.
    ///
    /// # Errors
    /// A 401 [`Rejection`] naming what is wrong, never echoing what was sent.
    fn verify(&self, request: &Parts, body: &[u8]) -> Result<(), Rejection>;

    /// Parses a verified body: [`Verified`] comes only from [`Verified::check`], which runs
    /// [`verify`](Adapter::verify) first, or from bytes botwire stored after it did.
    ///
    /// # Errors
    /// A 400 [`Rejection`] when the body is not JSON or lacks a required field
    /// ([`json::parse`](crate::json::parse) names the field).
    fn parse(&self, body: Verified) -> Result<Parsed, Rejection>;

    /// The request headers [`parse`](Adapter::parse) reads (lower case), besides the body:
    /// [`Verified::header`] gives them, and they are kept with a delivery that is queued, so
    /// it parses alike later. None by default: most platforms put everything in the body.
    fn kept_headers(&self) -> &'static [&'static str] {
        &[]
    }

    /// The response body that delivers `reply` (in-response platforms). `next_state` is the
    /// state to tell the platform about, `None` to keep the current one. Via-API platforms
    /// answer every accepted delivery with [`no_op`](Adapter::no_op) and keep this default.
    fn render(&self, reply: &Reply, next_state: Option<&str>) -> Bytes {
        let _ = (reply, next_state);
        self.no_op()
    }

    /// The response body that delivers `reply` to `delivery`: what the server calls. The
    /// default is [`render`](Adapter::render); a platform whose answer names where it goes
    /// (Telegram's `chat_id`) renders here instead.
    fn render_to(&self, delivery: &Inbound, reply: &Reply, next_state: Option<&str>) -> Bytes {
        let _ = delivery;
        self.render(reply, next_state)
    }

    /// The body that answers without doing anything: sent when the handler is late, or for an
    /// event the bot does not handle. For via-API platforms, the acknowledgement.
    fn no_op(&self) -> Bytes;

    /// The status and body that tell the platform about `rejection`, in the platform's own error
    /// shape. `verified` says whether the request's credentials were checked and held (a
    /// platform that never resends may want every verified delivery answered with 200).
    fn refuse(&self, rejection: &Rejection, verified: bool) -> (StatusCode, Bytes) {
        let _ = verified;
        (rejection.status, rejection.body())
    }

    /// Headers to send with [`refuse`](Adapter::refuse)'s answer (Slack's `X-Slack-No-Retry`
    /// where a resend cannot help). None by default.
    fn refusal_headers(&self, rejection: &Rejection, verified: bool) -> http::HeaderMap {
        let _ = (rejection, verified);
        http::HeaderMap::new()
    }

    /// Whether the platform carries the conversation's state in its deliveries
    /// ([`Inbound::state`]) and takes the next one in the response, as FUNTEK's `botState` and
    /// `toBotState` do. When it does not (the default), botwire keeps the state in its own
    /// state store.
    fn carries_state(&self) -> bool {
        false
    }

    /// Whether the platform resends a delivery that was not answered with success. When it
    /// does not, botwire must keep every verified delivery itself (Chatwork).
    fn sender_retries(&self) -> bool {
        true
    }

    /// The platform's send API, when it has one botwire can call and it is configured: every
    /// reply of a via-API platform goes there, and for an in-response platform what cannot
    /// go in a response (a late handler's reply, proactive messages). `None`: the channel's
    /// own outbox, or the log.
    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        None
    }

    /// The limits the platform's send API documents, which botwire keeps to on the client
    /// side when it sends through [`outbox`](Adapter::outbox) (none by default). Settings
    /// override them.
    fn rate_limits(&self) -> RateLimits {
        RateLimits::none()
    }
}

/// How a platform expects replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// In the HTTP response to the delivery (FUNTEK).
    InResponse,
    /// Through the platform's API, after a quick acknowledgement.
    ViaApi,
}

impl Verified {
    /// Verifies `body` with `adapter` over the raw bytes, before anything looks inside them.
    ///
    /// # Errors
    /// The adapter's 401 [`Rejection`].
    pub fn check(adapter: &dyn Adapter, request: &Parts, body: Bytes) -> Result<Self, Rejection> {
        adapter.verify(request, &body)?;
        let headers = adapter
            .kept_headers()
            .iter()
            .filter_map(|&name| {
                let value = request.headers.get(name)?.to_str().ok()?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect();
        // The one constructor from a request there is; `stored` names its other use.
        Ok(Self::with_headers(body, headers))
    }
}

/// What a verified body turned out to be.
#[derive(Debug)]
#[non_exhaustive]
pub enum Parsed {
    /// An event to handle.
    Event(Box<Inbound>),
    /// Several deliveries in one request (LINE sends a list of events): each is claimed,
    /// deduplicated, queued and answered for on its own, in order, and carries its own
    /// [`Inbound::body`]. The request is answered with success when all were accepted. An
    /// empty batch is [`Ignored`](Parsed::Ignored). Only via-API platforms may batch: an
    /// in-response channel has one answer per request.
    Batch(Vec<Inbound>),
    /// A request the platform answers itself, with no event behind it: a handshake such as
    /// Slack's `url_verification` (the challenge) or Discord's PING (`{"type":1}`). Answered
    /// 200 with `body`, counted as ignored.
    Answer {
        /// Why, for logs and counters.
        reason: &'static str,
        /// The response body.
        body: Bytes,
    },
    /// Nothing to handle (a filtered message type, a platform ping): acknowledged, counted.
    Ignored {
        /// Why, for logs and counters.
        reason: &'static str,
    },
}

/// A parsed delivery, ready to route.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inbound {
    /// The id duplicates are recognised by (per platform: the event's own id where it has one, see `docs/<platform>.md`).
    pub delivery_id: String,
    /// The conversation the event belongs to.
    pub conversation: String,
    /// The state the platform says the conversation is in, for platforms that carry it
    /// (`None`: the platform does not, or the conversation has none yet).
    pub state: Option<String>,
    /// How long to remember this delivery id, when shorter than the channel's default: ids
    /// derived from content recur legitimately (a member who leaves and joins again).
    pub remember_for: Option<Duration>,
    /// The normalized event.
    pub event: Event,
    /// This delivery's own verified bytes, when the request held several (a
    /// [`Parsed::Batch`]): what is queued for it, and parsed again alone, to exactly this
    /// delivery. `None`: the whole request body is this delivery's.
    pub body: Option<Verified>,
}

impl Inbound {
    /// A delivery of `event` in `conversation`.
    pub fn new(delivery_id: String, conversation: String, event: Event) -> Self {
        Self {
            delivery_id,
            conversation,
            state: None,
            remember_for: None,
            event,
            body: None,
        }
    }

    /// This delivery as a member of a batch, with `body` its own verified bytes.
    #[must_use]
    pub fn with_body(mut self, body: Verified) -> Self {
        self.body = Some(body);
        self
    }
}

/// A refused request: a status and a short, fixed reason; never anything from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The status to answer with.
    pub status: StatusCode,
    /// A stable machine-readable code (`invalid_token`, `not_json`, …).
    pub code: &'static str,
    /// A short human-readable reason.
    pub message: Cow<'static, str>,
}

impl Rejection {
    /// A rejection with this status, code and message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 401 with this code and message.
    pub fn unauthorized(code: &'static str, message: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 400 with this code and message.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The JSON body `{"error": code, "message": message}`.
    pub fn body(&self) -> Bytes {
        let body = serde_json::json!({ "error": self.code, "message": self.message });
        Bytes::from(body.to_string())
    }
}
