//! FUNTEK / IMKit chat server (platform id `funtek`): replies go in the HTTP response.
//!
//! The chat server POSTs `{roomID, event, botState?, data}` for `JOIN_ROOM`, `ADD_MEMBERS`,
//! `DELETE_MEMBERS` and `MESSAGE`, and reads `{senderID?, toBotState?, data?}` back; the room's
//! `botState` is kept by the platform. It signs nothing, so a channel authenticates with a secret
//! token in the registered URL (`?token=`) or an `Authorization: Bearer` header, and optionally
//! an `X-Webhook-Signature: sha256=<hex>` HMAC of the body added by a gateway in front.

#[cfg(feature = "send-api")]
mod outbox;
mod wire;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use botwire_core::{Event, EventKind, Member, Reply};
use bytes::Bytes;
use http::request::Parts;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

#[cfg(feature = "send-api")]
pub use outbox::{API_KEY_HEADER, ImkitOutbox};

use crate::auth::{
    HmacKeys, Secret, TagEncoding, TokenSet, single_header, single_query_param,
    verify_signature_header,
};
use crate::{
    Adapter, ChannelSettings, Inbound, Mode, Outbox, Parsed, Platform, Rate, RateLimits, Rejection,
    SettingError, Verified, content, json,
};

/// The platform id.
pub const ID: &str = "funtek";
/// How long FUNTEK is assumed to wait: it documents no timeout.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);
/// How long the id of a member event (a digest of its body) is remembered: the same body recurs
/// legitimately when a member leaves and joins again.
pub const MEMBER_EVENT_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The optional HMAC header.
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
/// The query parameter that carries the token.
pub const TOKEN_PARAM: &str = "token";
/// The documented no-op reply.
pub const NO_OP: &[u8] = br#"{"toBotState":null,"data":null}"#;

/// The settings a FUNTEK channel reads.
const KEYS: [&str; 8] = [
    "token",
    "secret",
    "insecure",
    "deadline",
    "sender_id",
    "api_base",
    "api_key",
    "client_message_ids",
];

/// The FUNTEK [`Platform`]: builds a [`FuntekAdapter`] from channel settings.
#[derive(Debug, Clone, Copy)]
pub struct Funtek;

/// One FUNTEK webhook.
#[derive(Debug, Clone)]
pub struct FuntekAdapter {
    tokens: TokenSet,
    signatures: HmacKeys,
    deadline: Duration,
    sender_id: Option<String>,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Builds a [`FuntekAdapter`].
#[derive(Debug, Default)]
#[must_use]
pub struct FuntekBuilder {
    tokens: Vec<Secret>,
    secrets: Vec<Secret>,
    insecure: bool,
    deadline: Option<Duration>,
    sender_id: Option<String>,
    outbox: Option<Arc<dyn Outbox>>,
}

/// Why a [`FuntekBuilder`] refused to build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a FUNTEK channel needs a token or a signing secret, or insecure mode said explicitly")]
pub struct Unauthenticated;

impl FuntekAdapter {
    /// Starts building an adapter.
    pub fn builder() -> FuntekBuilder {
        FuntekBuilder::default()
    }
}

impl FuntekBuilder {
    /// Accepts this token (call again to accept several, for rotation).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(Secret::new(token));
        self
    }

    /// Accepts these tokens.
    pub fn tokens(mut self, tokens: impl IntoIterator<Item = Secret>) -> Self {
        self.tokens.extend(tokens);
        self
    }

    /// Also requires `X-Webhook-Signature: sha256=<hex>` made with this secret (or another
    /// added the same way).
    pub fn signing_secret(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(Secret::new(secret));
        self
    }

    /// Requires signatures made with any of these secrets.
    pub fn signing_secrets(mut self, secrets: impl IntoIterator<Item = Secret>) -> Self {
        self.secrets.extend(secrets);
        self
    }

    /// Accepts requests with no credentials at all. Only for a network you trust; a warning is
    /// logged when the adapter is built.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// How long the platform waits (default 5 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The `senderID` of replies whose handler names none (the bot's account id).
    pub fn sender_id(mut self, sender_id: impl Into<String>) -> Self {
        self.sender_id = Some(sender_id.into());
        self
    }

    /// Sends what cannot go in the response (a late handler's reply, proactive messages)
    /// through IMKit's platform API.
    #[cfg(feature = "send-api")]
    pub fn outbox(mut self, outbox: ImkitOutbox) -> Self {
        self.outbox = Some(Arc::new(outbox));
        self
    }

    /// Builds the adapter.
    ///
    /// # Errors
    /// [`Unauthenticated`] when no token or signing secret is set and insecure mode is not on.
    pub fn build(self) -> Result<FuntekAdapter, Unauthenticated> {
        if self.tokens.is_empty() && self.secrets.is_empty() {
            if !self.insecure {
                return Err(Unauthenticated);
            }
            tracing::warn!(
                platform = ID,
                "FUNTEK channel accepts unauthenticated requests (insecure = true): anyone who \
                 can reach it can drive the bot"
            );
        }
        Ok(FuntekAdapter {
            tokens: TokenSet::new(&self.tokens),
            signatures: HmacKeys::from_secrets(&self.secrets),
            deadline: self.deadline.unwrap_or(DEFAULT_DEADLINE),
            sender_id: self.sender_id,
            outbox: self.outbox,
        })
    }
}

impl Platform for Funtek {
    fn id(&self) -> &'static str {
        ID
    }

    fn configure(
        &self,
        settings: &ChannelSettings,
    ) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
        settings.expect_only(&KEYS)?;
        let mut builder = FuntekAdapter::builder()
            .tokens(settings.secrets("token")?)
            .signing_secrets(settings.secrets("secret")?)
            .insecure(settings.flag("insecure")?.unwrap_or(false));
        if let Some(deadline) = settings.positive_duration("deadline")? {
            builder = builder.deadline(deadline);
        }
        let sender_id = settings.text("sender_id")?;
        if let Some(sender_id) = sender_id {
            builder = builder.sender_id(sender_id);
        }
        #[cfg(not(feature = "send-api"))]
        settings.refuse_without("send-api", &["api_base", "api_key", "client_message_ids"])?;
        #[cfg(feature = "send-api")]
        match (
            settings.text("api_base")?,
            settings.secrets("api_key")?.into_iter().next(),
        ) {
            (Some(base), Some(key)) => {
                let mut outbox = ImkitOutbox::new(base, key)
                    .map_err(|e| settings.error("api_base", &e.to_string()))?
                    .with_client_ids(settings.flag("client_message_ids")?.unwrap_or(false));
                if let Some(sender_id) = sender_id {
                    outbox = outbox.with_sender_id(sender_id);
                }
                builder = builder.outbox(outbox);
            }
            // Each app has its own host (`https://<app>.imkit.io`): there is no default.
            (Some(_), None) => {
                return Err(settings.error("api_key", "missing: api_base needs the API key"));
            }
            (None, Some(_)) => {
                return Err(settings.error(
                    "api_base",
                    "missing: api_key needs the app's API base, e.g. https://<app>.imkit.io",
                ));
            }
            (None, None) => {}
        }
        match builder.build() {
            Ok(adapter) => Ok(Some(Arc::new(adapter))),
            // Not mounted: the contract mounts a channel only when its secret is set.
            Err(Unauthenticated) => Ok(None),
        }
    }
}

impl Adapter for FuntekAdapter {
    fn platform(&self) -> &'static str {
        ID
    }

    fn mode(&self) -> Mode {
        Mode::InResponse
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    fn verify(&self, request: &Parts, body: &[u8]) -> Result<(), Rejection> {
        if !self.tokens.is_empty() {
            let token = presented_token(request)?.ok_or_else(|| {
                Rejection::unauthorized(
                    "missing_token",
                    "no token in the query or Authorization header",
                )
            })?;
            if !self.tokens.matches(&token) {
                return Err(Rejection::unauthorized(
                    "invalid_token",
                    "the token is not accepted",
                ));
            }
        }
        if !self.signatures.is_empty() {
            verify_signature_header(
                &request.headers,
                SIGNATURE_HEADER,
                b"sha256=",
                TagEncoding::Hex,
                &self.signatures,
                &[body],
            )?;
        }
        Ok(())
    }

    fn parse(&self, body: Verified) -> Result<Parsed, Rejection> {
        let body = body.into_bytes();
        let envelope: wire::Envelope = json::parse(&body)?;
        let data = envelope.data.unwrap_or_default();
        let conversation = envelope
            .room_id
            .or_else(|| data.room.clone())
            .filter(|room| !room.is_empty())
            .ok_or_else(|| Rejection::bad_request("invalid_field", "missing field `roomID`"))?;
        let message_id = data.underscore_id.clone().or_else(|| data.id.clone());
        let sender = data.sender.map(member);
        let members = || {
            data.members
                .unwrap_or_default()
                .into_iter()
                .map(member)
                .collect::<Vec<_>>()
        };

        let kind = match envelope.event.as_str() {
            "MESSAGE" => {
                let Some(id) = message_id.clone().filter(|id| !id.is_empty()) else {
                    return Err(Rejection::bad_request(
                        "invalid_field",
                        "missing field `data._id`",
                    ));
                };
                let message = content::message(data.message_type.as_deref(), data.message, id);
                EventKind::Message(message)
            }
            "JOIN_ROOM" => {
                let joined = members();
                // A JOIN_ROOM's members list names who joined; fall back to the sender.
                EventKind::MembersJoined(if joined.is_empty() {
                    sender.iter().cloned().collect()
                } else {
                    joined
                })
            }
            "ADD_MEMBERS" => EventKind::MembersJoined(members()),
            "DELETE_MEMBERS" => EventKind::MembersLeft(members()),
            other => EventKind::Other(other.to_owned()),
        };

        // Messages carry their own id; member events do not, so their id is a digest of the
        // body, remembered only for a short window.
        let (delivery_id, remember_for) = match (&kind, message_id) {
            (EventKind::Message(_), Some(id)) => (id, None),
            (EventKind::Other(_), Some(id)) if !id.is_empty() => (id, None),
            _ => (
                hex::encode(Sha256::digest(&body)),
                Some(MEMBER_EVENT_WINDOW),
            ),
        };

        let mut event = Event::new(kind).with_payload(body);
        if let Some(sender) = sender {
            event = event.with_sender(sender);
        }
        let mut inbound = Inbound::new(delivery_id, conversation, event);
        inbound.state = envelope.bot_state.filter(|s| !s.is_empty());
        inbound.remember_for = remember_for;
        Ok(Parsed::Event(Box::new(inbound)))
    }

    fn render(&self, reply: &Reply, next_state: Option<&str>) -> Bytes {
        let extra = reply.out_message().map(|m| reply_extra(m.extra()));
        let data = reply
            .out_message()
            .zip(extra.as_deref())
            .map(|(m, extra)| wire::ReplyMessage {
                message: m.body(),
                message_type: m.message_type(),
                extra,
            });
        let wire = wire::Reply {
            sender_id: reply
                .sender_id()
                .or(self.sender_id.as_deref())
                .filter(|_| data.is_some()),
            to_bot_state: next_state,
            data,
        };
        serde_json::to_vec(&wire).map_or_else(|_| self.no_op(), Bytes::from)
    }

    fn no_op(&self) -> Bytes {
        Bytes::from_static(NO_OP)
    }

    /// `botState` in every delivery, `toBotState` in the answer.
    fn carries_state(&self) -> bool {
        true
    }

    fn outbox(&self) -> Option<Arc<dyn Outbox>> {
        self.outbox.clone()
    }

    /// 1,000 requests a minute per API key (IMKit's newer documentation).
    fn rate_limits(&self) -> RateLimits {
        RateLimits {
            token: Some(Rate::new(1000, Duration::from_secs(60))),
            conversation: None,
        }
    }
}

/// The token from `?token=` or `Authorization: Bearer`, whichever is given (the query first).
fn presented_token(request: &Parts) -> Result<Option<Vec<u8>>, Rejection> {
    if let Some(token) = single_query_param(request.uri.query(), TOKEN_PARAM, "invalid_token")? {
        return Ok(Some(token.into_bytes()));
    }
    let Some(header) = single_header(&request.headers, "authorization", "invalid_token")? else {
        return Ok(None);
    };
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    let bearer = header
        .split_at_checked(7)
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(b"bearer "))
        .map(|(_, token)| token.to_vec());
    Ok(Some(bearer.unwrap_or_default()))
}

/// The extra fields of a reply message, less any that would repeat the reply's own fields.
fn reply_extra(extra: &Map<String, Value>) -> Cow<'_, Map<String, Value>> {
    const OWN: [&str; 2] = ["message", "messageType"];
    if OWN.iter().any(|k| extra.contains_key(*k)) {
        let kept = extra.iter().filter(|(k, _)| !OWN.contains(&k.as_str()));
        Cow::Owned(kept.map(|(k, v)| (k.clone(), v.clone())).collect())
    } else {
        Cow::Borrowed(extra)
    }
}

fn member(wire: wire::WireMember) -> Member {
    let id = wire.id.or(wire.underscore_id).unwrap_or_default();
    let mut member = Member::new(id).with_bot(wire.is_robot);
    if let Some(name) = wire.nickname.filter(|n| !n.is_empty()) {
        member = member.with_name(name);
    }
    member
}

#[cfg(test)]
mod tests;
