//! The receiver as a service: route, read within limits, verify, parse, deliver.
//!
//! [`App::handle`] takes any request and always answers; errors become short JSON responses
//! here, at the edge. It needs no socket, which is how the testkit drives it in process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Bot, BoxError};
use botwire_platforms::{Adapter, Mode, Parsed};
use botwire_store::Ledger;
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::respond::{self, Body};
use crate::turns::Turns;
use crate::{Channel, Limits, ServeError, deliver};

/// How long a done delivery's response is remembered for duplicates.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The receiver: every mounted channel, the ledger, the limits. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    routes: HashMap<String, Arc<Route>>,
    ledger: Arc<dyn Ledger>,
    limits: Limits,
    turns: Turns,
    tasks: TaskTracker,
}

/// A mounted channel, resolved.
pub(crate) struct Route {
    pub(crate) name: Arc<str>,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) bot: Arc<Bot>,
}

impl App {
    pub(crate) fn new(
        channels: Vec<Channel>,
        default_bot: Option<Arc<Bot>>,
        ledger: Arc<dyn Ledger>,
        limits: Limits,
    ) -> Result<Self, ServeError> {
        if channels.is_empty() {
            return Err(ServeError::NoChannels);
        }
        let mut routes = HashMap::with_capacity(channels.len());
        for channel in channels {
            let bot = channel
                .bot
                .or_else(|| default_bot.clone())
                .ok_or_else(|| ServeError::NoBot(channel.name.to_string()))?;
            if channel.adapter.mode() != Mode::InResponse {
                return Err(ServeError::UnsupportedMode(channel.name.to_string()));
            }
            let route = Route {
                name: channel.name.clone(),
                adapter: channel.adapter,
                bot,
            };
            if routes
                .insert(channel.path.clone(), Arc::new(route))
                .is_some()
            {
                return Err(ServeError::DuplicatePath(channel.path));
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                routes,
                ledger,
                limits,
                turns: Turns::default(),
                tasks: TaskTracker::new(),
            }),
        })
    }

    /// The paths with a channel mounted, and the channel names.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .routes
            .iter()
            .map(|(path, route)| (path.as_str(), &*route.name))
    }

    /// Handlers still running after their request was answered (late ones).
    pub(crate) fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    pub(crate) fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.inner.ledger
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Answers one request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let arrived = Instant::now();
        let (parts, body) = request.into_parts();
        match parts.uri.path() {
            "/healthz" => return self.health(&parts.method),
            "/readyz" => return self.readiness(&parts.method).await,
            _ => {}
        }
        let Some(route) = self.inner.routes.get(parts.uri.path()).cloned() else {
            return respond::not_found();
        };
        if parts.method != Method::POST {
            return respond::method_not_allowed("POST");
        }
        let body = match self.read_body(&parts, body).await {
            Ok(body) => body,
            Err(response) => return response,
        };
        // Verify before parse: nothing of an unauthenticated body is looked at.
        if let Err(rejection) = route.adapter.verify(&parts, &body) {
            tracing::debug!(channel = %route.name, code = rejection.code, "rejected");
            return respond::rejection(&rejection);
        }
        match route.adapter.parse(body) {
            Err(rejection) => {
                tracing::debug!(channel = %route.name, code = rejection.code, "malformed");
                respond::rejection(&rejection)
            }
            Ok(Parsed::Ignored { reason }) => {
                tracing::debug!(channel = %route.name, reason, "ignored");
                respond::json(StatusCode::OK, route.adapter.no_op())
            }
            Ok(Parsed::Event(inbound)) => {
                let delivery = deliver::Delivery {
                    route,
                    inbound: *inbound,
                    arrived,
                };
                delivery
                    .run(&self.inner.ledger, &self.inner.turns, &self.inner.tasks)
                    .await
            }
            Ok(_) => respond::json(StatusCode::OK, route.adapter.no_op()),
        }
    }

    async fn read_body<B>(
        &self,
        parts: &http::request::Parts,
        body: B,
    ) -> Result<Bytes, Response<Body>>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let limit = self.inner.limits.body_bytes;
        let too_large = || {
            respond::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the body is larger than this endpoint accepts",
            )
        };
        // Refuse a declared oversize body before reading any of it.
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let collect = Limited::new(body, limit).collect();
        match tokio::time::timeout(self.inner.limits.body_timeout, collect).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
            Ok(Err(_)) => Err(respond::error(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                "the body could not be read",
            )),
            Err(_) => {
                let mut response = respond::error(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    "the body took too long to arrive",
                );
                // The rest of the body may still come: the connection cannot be reused.
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
                Err(response)
            }
        }
    }

    fn health(&self, method: &Method) -> Response<Body> {
        if method != Method::GET {
            return respond::method_not_allowed("GET");
        }
        respond::json(StatusCode::OK, Bytes::from_static(br#"{"status":"ok"}"#))
    }

    async fn readiness(&self, method: &Method) -> Response<Body> {
        if method != Method::GET {
            return respond::method_not_allowed("GET");
        }
        match self.inner.ledger.ping().await {
            Ok(()) => respond::json(StatusCode::OK, Bytes::from_static(br#"{"status":"ready"}"#)),
            Err(e) => {
                tracing::warn!(error = %e, "not ready: the ledger is unreachable");
                respond::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "a store is unreachable",
                )
            }
        }
    }
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.inner.routes.keys().collect::<Vec<_>>())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}
