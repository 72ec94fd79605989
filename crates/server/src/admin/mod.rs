//! The admin listener: what an operator reads and does, on an address of its own (by default
//! loopback only), never on the webhook port.
//!
//! - `GET /`: the delivery-log page (HTML, CSS and a little JavaScript, from the binary).
//! - `GET /deliveries?limit=N&channel=C&outcome=O&conversation=V`: recent deliveries, newest
//!   first, the totals and the mounted channels.
//! - `GET /dead-letters`: deliveries given up on.
//! - `POST /dead-letters/{id}/replay`: queue one again.
//! - `GET /conversations/{channel}/{conversation}`: its state and remembered data.
//! - `POST /conversations/{channel}/{conversation}/messages`: send a message by itself.
//! - `GET /metrics`: Prometheus metrics (the OpenMetrics text format).
//! - `GET /healthz`, `GET /readyz`.
//!
//! With an admin token set, every endpoint but `/healthz` and the page's files needs it (see
//! [`access`]); so does `/metrics` unless it is opened for scrapers.

mod access;
mod conversation_path;
mod lookup;
mod messages;
mod page;

pub(crate) use access::Access;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;

use botwire_core::BoxError;

use crate::App;
use crate::delivery_log::{Filter, Outcome};
use crate::respond::{self, Body};
use conversation_path::ConversationPath;

/// How long `/metrics` waits for the queue's figures.
const QUEUE_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The most records one `GET /deliveries` returns.
const MAX_LIMIT: usize = 1000;

/// The admin endpoints of one [`App`], as a service of their own: serve it on a private
/// address, never beside the webhooks. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Admin {
    app: App,
    access: Access,
}

impl Admin {
    pub(crate) fn new(app: App, access: Access) -> Self {
        Self { app, access }
    }

    /// Whether requests need an admin token ([`Server::admin_token`](crate::Server::admin_token)).
    /// An embedder serving the admin endpoints beyond loopback should require it, as
    /// [`Server::bind`](crate::Server::bind) does.
    pub fn requires_token(&self) -> bool {
        self.access.requires_token()
    }

    /// Answers one admin request; errors are JSON responses.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let headers = request.headers();
        if access::is_cross_origin(headers) {
            return respond::error(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "the admin endpoints answer only their own page, not other sites",
            );
        }
        // Probes reach `/healthz` without credentials, browsers the page's files (and
        // scrapers `/metrics`, if opened).
        if !self.access.is_open(request.uri().path()) {
            if !self.access.requires_token() && !access::names_loopback(headers) {
                return respond::error(
                    StatusCode::FORBIDDEN,
                    "not_loopback",
                    "without BOTWIRE_ADMIN_TOKEN the admin endpoints answer only requests to a loopback host name",
                );
            }
            if !self.access.allows(headers) {
                return unauthorized();
            }
        }
        handle(&self.app, request).await
    }
}

/// 401, saying which credentials the endpoint takes (never which were sent).
fn unauthorized() -> Response<Body> {
    let mut response = respond::error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "the admin endpoints need Authorization: Bearer <admin token>",
    );
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    response
}

async fn handle<B>(app: &App, request: Request<B>) -> Response<Body>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    match ConversationPath::parse(&path) {
        Some(ConversationPath::Messages {
            channel,
            conversation,
        }) => {
            if method != Method::POST {
                return respond::method_not_allowed("POST");
            }
            let read_for = app.limits().body_timeout;
            let body = request.into_body();
            return messages::post(app, &channel, &conversation, body, read_for).await;
        }
        Some(ConversationPath::Conversation {
            channel,
            conversation,
        }) => {
            return match only_get(&method) {
                Some(refused) => refused,
                None => lookup::get(app, &channel, &conversation).await,
            };
        }
        None => {}
    }
    if let Some(asset) = page::asset(&path) {
        return only_get(&method).unwrap_or_else(|| page::serve(asset));
    }
    match path.as_str() {
        "/healthz" => app.health(&method),
        "/readyz" => app.readiness(&method).await,
        "/metrics" => match only_get(&method) {
            Some(refused) => refused,
            None => metrics(app).await,
        },
        "/deliveries" => only_get(&method).unwrap_or_else(|| deliveries(app, &query)),
        "/dead-letters" => match only_get(&method) {
            Some(refused) => refused,
            None => dead_letters(app).await,
        },
        _ => match path
            .strip_prefix("/dead-letters/")
            .and_then(|rest| rest.strip_suffix("/replay"))
        {
            Some(id) if method == Method::POST => replay(app, id).await,
            Some(_) => respond::method_not_allowed("POST"),
            None => respond::error(StatusCode::NOT_FOUND, "not_found", "no such admin path"),
        },
    }
}

fn only_get(method: &Method) -> Option<Response<Body>> {
    (method != Method::GET).then(|| respond::method_not_allowed("GET"))
}

fn deliveries(app: &App, query: &str) -> Response<Body> {
    let mut limit = 100;
    let mut channel = None;
    let mut outcome = None;
    let mut conversation = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "limit" => match value.parse::<usize>() {
                Ok(n) => limit = n.min(MAX_LIMIT),
                Err(_) => {
                    return respond::error(
                        StatusCode::BAD_REQUEST,
                        "invalid_limit",
                        "limit must be a whole number",
                    );
                }
            },
            "channel" => channel = Some(value.into_owned()),
            "outcome" => match Outcome::from_name(&value) {
                Some(named) => outcome = Some(named),
                None => {
                    return respond::error(
                        StatusCode::BAD_REQUEST,
                        "invalid_outcome",
                        "outcome must be one of the delivery log's outcome names",
                    );
                }
            },
            "conversation" => conversation = Some(value.into_owned()),
            _ => {}
        }
    }
    let mut filter = Filter::default();
    if let Some(channel) = &channel {
        filter = filter.channel(channel);
    }
    if let Some(outcome) = outcome {
        filter = filter.outcome(outcome);
    }
    if let Some(conversation) = &conversation {
        filter = filter.conversation(conversation);
    }
    let log = app.delivery_log();
    let totals: serde_json::Map<String, serde_json::Value> = log
        .totals()
        .into_iter()
        .map(|(outcome, n)| {
            let name = serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (name, n.into())
        })
        .collect();
    let mut channels: Vec<ChannelView<'_>> = app
        .channel_routes()
        .map(|route| ChannelView {
            name: &route.name,
            platform: route.adapter.platform(),
            state_kept_by: route.state_kept_by(),
        })
        .collect();
    channels.sort_unstable_by_key(|c| c.name);
    let body = serde_json::json!({
        "totals": totals,
        "channels": channels,
        "deliveries": log.matching(limit, &filter),
    });
    respond::serialized(&body)
}

/// A mounted channel, as the page lists it.
#[derive(Serialize)]
struct ChannelView<'a> {
    name: &'a str,
    platform: &'static str,
    state_kept_by: &'static str,
}

/// The metrics, with the queue's gauges read now. A queue that does not answer leaves them
/// as they were: the counters are still worth a scrape.
async fn metrics(app: &App) -> Response<Body> {
    let queue = app.queue();
    let read =
        async { Ok::<_, botwire_store::StoreError>((queue.stats().await?, queue.oldest().await?)) };
    let (stats, oldest) = match tokio::time::timeout(QUEUE_READ_TIMEOUT, read).await {
        Ok(Ok((stats, oldest))) => (Some(stats), oldest),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the queue is unavailable");
            (None, None)
        }
        Err(_) => {
            tracing::warn!("metrics: the queue did not answer in time");
            (None, None)
        }
    };
    let text = app.metrics().render(stats, oldest);
    respond::ok(crate::metrics::CONTENT_TYPE, Bytes::from(text))
}

#[derive(Serialize)]
struct DeadLetterView {
    id: u64,
    channel: String,
    conversation: String,
    delivery_id: String,
    attempts: u32,
    reason: String,
    last_error: Option<String>,
    accepted_at: String,
    died_at: String,
}

async fn dead_letters(app: &App) -> Response<Body> {
    let (letters, stats) = match (app.queue().dead_letters().await, app.queue().stats().await) {
        (Ok(letters), Ok(stats)) => (letters, stats),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "the queue is unavailable");
            return respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the queue is unavailable",
            );
        }
    };
    let view: Vec<DeadLetterView> = letters
        .into_iter()
        .map(|d| DeadLetterView {
            id: d.job.id.0,
            channel: d.job.channel,
            conversation: d.job.conversation,
            delivery_id: d.job.delivery_id,
            attempts: d.job.attempts,
            reason: d.reason,
            last_error: d.job.last_error,
            accepted_at: humantime::format_rfc3339_millis(d.job.accepted_at).to_string(),
            died_at: humantime::format_rfc3339_millis(d.died_at).to_string(),
        })
        .collect();
    respond::serialized(&serde_json::json!({
        "queued": stats.queued,
        "in_progress": stats.in_progress,
        "capacity": stats.capacity,
        "dead_letters": view,
    }))
}

async fn replay(app: &App, id: &str) -> Response<Body> {
    let Ok(id) = id.parse::<u64>() else {
        return respond::error(StatusCode::NOT_FOUND, "not_found", "no such dead letter");
    };
    match app.queue().replay(botwire_store::JobId(id)).await {
        Ok(true) => {
            tracing::info!(job = id, "dead letter replayed");
            respond::serialized(&serde_json::json!({ "replayed": id }))
        }
        Ok(false) => respond::error(StatusCode::NOT_FOUND, "not_found", "no such dead letter"),
        Err(botwire_store::StoreError::QueueFull { .. }) => respond::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_full",
            "the queue is full; replay it later",
        ),
        Err(e) => {
            tracing::warn!(error = %e, "the queue is unavailable");
            respond::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the queue is unavailable",
            )
        }
    }
}
