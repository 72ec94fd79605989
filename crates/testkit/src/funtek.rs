//! FUNTEK deliveries as the chat server sends them, and signing as a channel expects.

use botwire_platforms::auth::HmacKeys;
use botwire_platforms::funtek::{SIGNATURE_HEADER, TOKEN_PARAM};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::{Value, json};

use crate::event::{fresh_id, post, with_query};

/// Marks FUNTEK deliveries.
#[derive(Debug, Clone, Copy)]
pub struct Funtek;

/// A FUNTEK delivery under construction; defaults follow the seed's examples (room
/// `demo-room`, sender `Desirae`).
pub type Event = crate::Event<Funtek>;

/// A `MESSAGE` with `text` and a fresh message id.
pub fn message(text: &str) -> Event {
    let id = fresh_id("testkit-");
    Event::new(json!({
            "roomID": "demo-room",
            "event": "MESSAGE",
            "data": {
                "_id": id,
                "message": text,
                "room": "demo-room",
                "sender": member("sss", "Desirae", false),
                "messageType": "text",
                "appID": "SampleApp",
                "messageTime": "2018-12-22T06:52:29.380Z",
                "messageTimeMS": 1_545_461_549_380_u64,
                "id": id,
            }
    }))
}

/// A `JOIN_ROOM` of the member `name`.
pub fn join_room(name: &str) -> Event {
    members_event("JOIN_ROOM", name)
}

/// An `ADD_MEMBERS` adding the member `name`.
pub fn add_members(name: &str) -> Event {
    members_event("ADD_MEMBERS", name)
}

/// A `DELETE_MEMBERS` removing the member `name`.
pub fn delete_members(name: &str) -> Event {
    members_event("DELETE_MEMBERS", name)
}

fn members_event(event: &str, name: &str) -> Event {
    let id = name.to_lowercase();
    Event::new(json!({
            "roomID": "demo-room",
            "event": event,
            "data": {
                "room": "demo-room",
                "sender": member("sss", "Desirae", false),
                "members": [member(&id, name, false)],
            }
    }))
}

fn member(id: &str, name: &str, is_robot: bool) -> Value {
    json!({ "_id": id, "nickname": name, "isRobot": is_robot, "lastLoginTimeMS": 0, "id": id })
}

impl Event {
    /// Puts the event in room `room`.
    pub fn room(mut self, room: &str) -> Self {
        self.value["roomID"] = json!(room);
        self.value["data"]["room"] = json!(room);
        self
    }

    /// Sets the message id (`_id` and `id`).
    pub fn id(mut self, id: &str) -> Self {
        self.value["data"]["_id"] = json!(id);
        self.value["data"]["id"] = json!(id);
        self
    }

    /// Says the room is in bot state `state`.
    pub fn state(mut self, state: &str) -> Self {
        self.value["botState"] = json!(state);
        self
    }

    /// Sets the sender.
    pub fn sender(mut self, id: &str, name: &str, is_robot: bool) -> Self {
        self.value["data"]["sender"] = member(id, name, is_robot);
        self
    }

    /// Sets the message type.
    pub fn message_type(mut self, message_type: &str) -> Self {
        self.value["data"]["messageType"] = json!(message_type);
        self
    }

    /// The message id, if the event has one.
    pub fn message_id(&self) -> Option<&str> {
        self.value["data"]["_id"].as_str()
    }
}

/// Signs FUNTEK requests as a channel with these credentials expects.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Signer {
    token: Option<String>,
    bearer: bool,
    hmac: HmacKeys,
}

impl Signer {
    /// No credentials (for an insecure channel, or to test a rejection).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sends `token` as the `token` query parameter.
    pub fn token(token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..Self::default()
        }
    }

    /// Sends the token in `Authorization: Bearer` instead of the query.
    pub fn bearer(mut self) -> Self {
        self.bearer = true;
        self
    }

    /// Also signs the body into `X-Webhook-Signature: sha256=<hex>` with `secret`.
    pub fn hmac(mut self, secret: &str) -> Self {
        self.hmac = HmacKeys::new([secret.as_bytes()]);
        self
    }

    /// A signed POST of `body` to `path`.
    pub fn request(&self, path: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
        let body = body.into();
        let mut uri = path.to_owned();
        let mut headers = Vec::new();
        if let Some(token) = &self.token {
            if self.bearer {
                headers.push(("authorization", format!("Bearer {token}")));
            } else {
                uri = with_query(&uri, TOKEN_PARAM, token);
            }
        }
        if let Some(tag) = self.hmac.sign(&[&body]) {
            headers.push((SIGNATURE_HEADER, format!("sha256={}", hex::encode(tag))));
        }
        post(&uri, &headers, body)
    }
}
