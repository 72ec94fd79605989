//! The receiver as a service: route, read within limits, verify, parse, deliver.
//!
//! [`App::handle`] takes any request and always answers; errors become short JSON responses
//! here, at the edge. It needs no socket, which is how the testkit drives it in process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Bot, BoxError, ConversationData, Messenger};
use botwire_platforms::{
    Inbound, LogOutbox, Mode, Outbox, Parsed, RateLimited, RateLimits, Rejection, Verified,
};
use botwire_store::{Ledger, Queue, StateStore};
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use ipnet::IpNet;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::client_addr::{PeerAddr, client_addr};
use crate::delivery_log::{DeliveryLog, Outcome, Record};
use crate::metrics::{self, MeteredOutbox, Metrics, Mounted};
use crate::respond::{self, Body};
use crate::route::Route;
use crate::stores::Stores;
use crate::turns::Turns;
use crate::{Channel, Limits, Messages, ServeError, Workers, accept, deliver};

/// How long `/readyz` waits for the stores: a hanging store makes the instance unready.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// The receiver: every mounted channel, the stores, the limits. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    routes: HashMap<String, Arc<Route>>,
    by_channel: Arc<HashMap<Arc<str>, Arc<Route>>>,
    /// What `App::messages` hands out.
    messages: Messages,
    /// The same, as the messenger every handler's context carries: made once, not per delivery.
    messenger: Arc<dyn Messenger>,
    stores: Stores,
    limits: Limits,
    workers: Workers,
    log: Arc<DeliveryLog>,
    metrics: Arc<Metrics>,
    trusted_proxies: Vec<IpNet>,
    turns: Turns,
    tasks: TaskTracker,
    /// Signalled whenever a worker finishes with a job (for draining at shutdown).
    worked: Notify,
}

/// What channels without their own bot or outbox use, and whose forwarding headers count.
pub(crate) struct Defaults {
    pub(crate) bot: Option<Arc<Bot>>,
    pub(crate) outbox: Option<Arc<dyn Outbox>>,
    pub(crate) trusted_proxies: Vec<IpNet>,
}

impl App {
    pub(crate) fn new(
        channels: Vec<Channel>,
        defaults: Defaults,
        stores: Stores,
        limits: Limits,
        workers: Workers,
        log_capacity: usize,
    ) -> Result<Self, ServeError> {
        if channels.is_empty() {
            return Err(ServeError::NoChannels);
        }
        let with_bots = channels
            .into_iter()
            .map(
                |channel| match channel.bot.clone().or_else(|| defaults.bot.clone()) {
                    Some(bot) => Ok((channel, bot)),
                    None => Err(ServeError::NoBot(channel.name.to_string())),
                },
            )
            .collect::<Result<Vec<_>, _>>()?;
        let metrics = Arc::new(Metrics::new(with_bots.iter().map(|(channel, bot)| {
            Mounted {
                name: &channel.name,
                deadline: channel.adapter.deadline(),
                states: bot.states().map(|s| bot.current_state(Some(s))).collect(),
            }
        })));
        let counted = metrics.clone();
        let log = Arc::new(
            DeliveryLog::new(log_capacity)
                .observed_by(Box::new(move |record| counted.observe(record))),
        );
        let stores = metrics::meter(stores, &metrics);
        let mut routes = HashMap::with_capacity(with_bots.len());
        let mut by_channel = HashMap::with_capacity(with_bots.len());
        for (channel, bot) in with_bots {
            let platform_api = channel
                .adapter
                .outbox()
                .filter(|_| channel.outbox.is_none());
            // The platform's documented limits belong to its own API, not to an outbox of
            // the user's.
            let rate_limits = channel.rate_limits.unwrap_or_else(|| match &platform_api {
                Some(_) => channel.adapter.rate_limits(),
                None => RateLimits::none(),
            });
            let mut outbox = channel
                .outbox
                .or(platform_api)
                .or_else(|| defaults.outbox.clone())
                .unwrap_or_else(|| Arc::new(LogOutbox));
            let channel_metrics = metrics.channel(&channel.name);
            if !rate_limits.is_none() && outbox.delivers() {
                let waits = channel_metrics.clone();
                let limited =
                    RateLimited::new(outbox, rate_limits).on_wait(move |_| waits.rate_limit_wait());
                outbox = Arc::new(limited);
            }
            if outbox.delivers() {
                outbox = Arc::new(MeteredOutbox::new(outbox, channel_metrics.clone()));
            }
            let route = Arc::new(Route {
                name: channel.name.clone(),
                adapter: channel.adapter,
                bot,
                outbox,
                allow_from: channel.allow_from,
                metrics: channel_metrics,
            });
            if by_channel
                .insert(channel.name.clone(), route.clone())
                .is_some()
            {
                return Err(ServeError::DuplicateChannel(channel.name.to_string()));
            }
            if routes.insert(channel.path.clone(), route).is_some() {
                return Err(ServeError::DuplicatePath(channel.path));
            }
        }
        let by_channel = Arc::new(by_channel);
        let messages = Messages::new(by_channel.clone(), stores.queue.clone());
        let messenger: Arc<dyn Messenger> = Arc::new(messages.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                routes,
                by_channel,
                messages,
                messenger,
                stores,
                limits,
                workers,
                log,
                metrics,
                trusted_proxies: defaults.trusted_proxies,
                turns: Turns::default(),
                tasks: TaskTracker::new(),
                worked: Notify::new(),
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

    /// The log of recent deliveries.
    pub fn delivery_log(&self) -> &DeliveryLog {
        &self.inner.log
    }

    /// Whether any mounted channel replies through an API (and so needs the workers).
    /// Whether any channel needs the queue's workers: a via-API one, or one that can send
    /// by itself (late replies and proactive messages of in-response channels).
    pub(crate) fn needs_workers(&self) -> bool {
        self.needs_timers()
            || self
                .inner
                .by_channel
                .values()
                .any(|r| r.adapter.mode() == Mode::ViaApi || r.outbox.delivers())
    }

    /// Whether a channel's bot has state timeouts: then the timer loop runs, and workers run
    /// the timeouts.
    pub(crate) fn needs_timers(&self) -> bool {
        self.inner.by_channel.values().any(|r| r.bot.has_timeouts())
    }

    /// Handlers still running after their request was answered (late ones).
    pub(crate) fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    pub(crate) fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.inner.stores.ledger
    }

    pub(crate) fn states(&self) -> &Arc<dyn StateStore> {
        &self.inner.stores.states
    }

    pub(crate) fn queue(&self) -> &Arc<dyn Queue> {
        &self.inner.stores.queue
    }

    pub(crate) fn data(&self) -> &Arc<dyn ConversationData> {
        &self.inner.stores.data
    }

    pub(crate) fn timers(&self) -> &Arc<dyn botwire_store::Timers> {
        &self.inner.stores.timers
    }

    pub(crate) fn log(&self) -> &Arc<DeliveryLog> {
        &self.inner.log
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub(crate) fn workers(&self) -> &Workers {
        &self.inner.workers
    }

    pub(crate) fn worked(&self) -> &Notify {
        &self.inner.worked
    }

    /// Sends messages by themselves (proactive), through the queue and each channel's outbox.
    pub fn messages(&self) -> Messages {
        self.inner.messages.clone()
    }

    /// What handlers' contexts send proactive messages with.
    pub(crate) fn messenger(&self) -> Arc<dyn Messenger> {
        self.inner.messenger.clone()
    }

    /// Every mounted channel, in no particular order.
    pub(crate) fn channel_routes(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.inner.by_channel.values()
    }

    pub(crate) fn route_by_channel(&self, channel: &str) -> Option<Arc<Route>> {
        self.inner.by_channel.get(channel).cloned()
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
        let response = self.deliver_to(route.clone(), parts, body, arrived).await;
        route.metrics.answered(arrived.elapsed());
        response
    }

    /// Reads, verifies, parses and delivers one POST to `route`'s path.
    async fn deliver_to<B>(
        &self,
        route: Arc<Route>,
        parts: http::request::Parts,
        body: B,
        arrived: Instant,
    ) -> Response<Body>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let adapter = &route.adapter;
        let refused = |rejection: &Rejection, verified: bool| {
            tracing::debug!(channel = %route.name, code = rejection.code, verified, "refused");
            self.log().record(
                Record::new(
                    &route.name,
                    adapter.platform(),
                    Outcome::Rejected,
                    arrived.elapsed(),
                )
                .refused(rejection.code, &rejection.message),
            );
            respond::refusal(&**adapter, rejection, verified)
        };
        if !route.allow_from.is_empty() && !self.allowed(&route, &parts) {
            return refused(
                &Rejection::new(
                    StatusCode::FORBIDDEN,
                    "forbidden_address",
                    "this address may not deliver to this webhook",
                ),
                false,
            );
        }
        let body = match self.read_body(&parts, body).await {
            Ok(body) => body,
            Err(rejection) => {
                let mut response = refused(&rejection, false);
                if rejection.status == StatusCode::REQUEST_TIMEOUT {
                    // The rest of the body may still come: the connection cannot be reused.
                    response.headers_mut().insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("close"),
                    );
                }
                return response;
            }
        };
        // Verify before parse: nothing of an unauthenticated body is looked at.
        let verified = match Verified::check(&**adapter, &parts, body.clone()) {
            Ok(verified) => verified,
            Err(rejection) => return refused(&rejection, false),
        };
        match adapter.parse(verified.clone()) {
            Err(rejection) => refused(&rejection, true),
            Ok(Parsed::Event(inbound)) => {
                self.deliver_one(route, *inbound, verified, arrived).await
            }
            Ok(Parsed::Batch(batch)) if batch.is_empty() => {
                self.ignored(&route, "an empty batch", arrived, adapter.no_op())
            }
            Ok(Parsed::Batch(batch)) => {
                if adapter.mode() != Mode::ViaApi {
                    tracing::error!(channel = %route.name, "an in-response adapter parsed a batch");
                    let rejection = Rejection::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "batch_in_response",
                        "several deliveries in one request need a via-API channel",
                    );
                    return refused(&rejection, true);
                }
                for inbound in batch {
                    let own = inbound.body.as_ref().unwrap_or(&verified).to_stored();
                    let answer = self.accept(route.clone(), inbound, own, arrived).await;
                    // Stop at the first refusal: the sender resends the whole request, the
                    // ones accepted are then duplicates, and none is taken out of its order.
                    if !answer.status().is_success() {
                        return answer;
                    }
                }
                respond::json(StatusCode::OK, adapter.no_op())
            }
            Ok(Parsed::Answer { reason, body }) => self.ignored(&route, reason, arrived, body),
            Ok(Parsed::Ignored { reason }) => {
                self.ignored(&route, reason, arrived, adapter.no_op())
            }
            Ok(_) => respond::json(StatusCode::OK, adapter.no_op()),
        }
    }

    /// A request with no event to handle, answered with `body` and recorded as ignored.
    fn ignored(
        &self,
        route: &Route,
        reason: &'static str,
        arrived: Instant,
        body: Bytes,
    ) -> Response<Body> {
        tracing::debug!(channel = %route.name, reason, "ignored");
        self.log().record(
            Record::new(
                &route.name,
                route.adapter.platform(),
                Outcome::Ignored,
                arrived.elapsed(),
            )
            .detail(reason),
        );
        respond::json(StatusCode::OK, body)
    }

    /// One delivery down its channel's pipeline.
    async fn deliver_one(
        &self,
        route: Arc<Route>,
        inbound: Inbound,
        verified: Verified,
        arrived: Instant,
    ) -> Response<Body> {
        let adapter = &route.adapter;
        match adapter.mode() {
            Mode::ViaApi => {
                let stored = verified.to_stored();
                self.accept(route, inbound, stored, arrived).await
            }
            _ => {
                let states = (!adapter.carries_state()).then(|| self.states().clone());
                let timeouts = route.bot.has_timeouts().then(|| deliver::Timeouts {
                    timers: self.timers().clone(),
                    pending: adapter.carries_state().then(|| self.states().clone()),
                });
                let delivery = deliver::Delivery {
                    route,
                    inbound,
                    verified,
                    arrived,
                    handler_timeout: self.workers().handler_timeout,
                    data: self.data().clone(),
                    queue: self.queue().clone(),
                    messenger: self.messenger(),
                    states,
                    timeouts,
                };
                delivery
                    .run(
                        self.ledger(),
                        &self.inner.turns,
                        &self.inner.tasks,
                        self.log(),
                    )
                    .await
            }
        }
    }

    /// One via-API delivery claimed, queued as `stored` and acknowledged.
    async fn accept(
        &self,
        route: Arc<Route>,
        inbound: Inbound,
        stored: Bytes,
        arrived: Instant,
    ) -> Response<Body> {
        let acceptance = accept::Acceptance {
            route,
            inbound,
            body: stored,
            arrived,
            ledger: self.ledger(),
            queue: self.queue(),
            intake: self.inner.stores.intake.as_ref(),
            log: self.log(),
        };
        acceptance.run().await
    }

    /// Whether the request comes from an address the channel accepts. A request with no known
    /// peer (served in process) or an unusable forwarding chain is not.
    fn allowed(&self, route: &Route, parts: &http::request::Parts) -> bool {
        parts
            .extensions
            .get::<PeerAddr>()
            .and_then(|peer| client_addr(peer.0.ip(), &parts.headers, &self.inner.trusted_proxies))
            .is_some_and(|addr| route.allow_from.iter().any(|net| net.contains(&addr)))
    }

    async fn read_body<B>(&self, parts: &http::request::Parts, body: B) -> Result<Bytes, Rejection>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        let limit = self.inner.limits.body_bytes;
        let too_large = || {
            Rejection::new(
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
            Ok(Err(_)) => Err(Rejection::bad_request(
                "body_unreadable",
                "the body could not be read",
            )),
            Err(_) => Err(Rejection::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body took too long to arrive",
            )),
        }
    }

    pub(crate) fn health(&self, method: &Method) -> Response<Body> {
        if method != Method::GET {
            return respond::method_not_allowed("GET");
        }
        respond::json(StatusCode::OK, Bytes::from_static(br#"{"status":"ok"}"#))
    }

    pub(crate) async fn readiness(&self, method: &Method) -> Response<Body> {
        if method != Method::GET {
            return respond::method_not_allowed("GET");
        }
        let checks = async {
            self.ledger().ping().await?;
            self.states().ping().await?;
            self.queue().stats().await.map(|_| ())
        };
        match tokio::time::timeout(READINESS_TIMEOUT, checks).await {
            Ok(Ok(())) => {
                respond::json(StatusCode::OK, Bytes::from_static(br#"{"status":"ready"}"#))
            }
            Err(_) => {
                tracing::warn!("not ready: a store did not answer in time");
                respond::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_slow",
                    "a store did not answer in time",
                )
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "not ready: a store is unreachable");
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
