//! Realistic deliveries of each platform, signed exactly as the platform signs them.

use botwire_testkit::{
    chatwork, discord, funtek, kamigo, line, slack, standard_webhooks, telegram, wechatpadpro,
};
use bytes::Bytes;
use clap::ValueEnum;
use http::Request;
use http_body_util::Full;

/// The platforms `botwire` can speak for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Platform {
    /// FUNTEK / IMKit: token in the query (`--secret` is the token).
    Funtek,
    /// Kamigo: `X-Webhook-Signature: sha256=<hex>`.
    Kamigo,
    /// Chatwork: base64 HMAC keyed with the base64 webhook token.
    Chatwork,
    /// WeChatPadPro: timestamp and hex HMAC.
    Wechatpadpro,
    /// LINE: `x-line-signature`, base64 HMAC (`--secret` is the channel secret).
    Line,
    /// Telegram: the webhook's secret token in its header.
    Telegram,
    /// Slack: `v0=` hex HMAC of `v0:{timestamp}:{body}` (`--secret` is the signing secret).
    Slack,
    /// Discord: Ed25519 over the timestamp and the body (`--secret` is the 64 hex digits of
    /// an Ed25519 secret key whose public key the channel is given).
    Discord,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `v1,` base64 HMAC (`--secret`
    /// is the `whsec_` secret).
    #[value(name = "standard_webhooks", alias = "standard-webhooks")]
    StandardWebhooks,
}

/// What to put in the delivery.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub(crate) event: Option<String>,
    pub(crate) text: String,
    pub(crate) room: Option<String>,
    pub(crate) id: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) member: String,
}

/// The event kinds of each platform, the first being the default.
pub(crate) fn kinds(platform: Platform) -> &'static [&'static str] {
    match platform {
        Platform::Funtek => &["message", "join_room", "add_members", "delete_members"],
        Platform::Kamigo => &["message", "member_joined", "member_left", "file_uploaded"],
        Platform::Chatwork => &["message_created", "message_updated", "mention_to_me"],
        Platform::Wechatpadpro => &["text", "image", "link"],
        Platform::Line => &[
            "message",
            "image",
            "follow",
            "member_joined",
            "member_left",
            "postback",
        ],
        Platform::Telegram => &[
            "message",
            "photo",
            "new_members",
            "left_member",
            "callback_query",
        ],
        Platform::Slack => &[
            "message",
            "app_mention",
            "member_joined",
            "member_left",
            "url_verification",
        ],
        Platform::Discord => &["say", "command", "button", "ping"],
        Platform::StandardWebhooks => &["contact_created", "event"],
    }
}

/// The body of a sample delivery.
pub(crate) fn body(platform: Platform, options: &Options) -> Result<Bytes, String> {
    let kind = options.event.as_deref().unwrap_or(kinds(platform)[0]);
    if !kinds(platform).contains(&kind) {
        return Err(format!(
            "{platform:?} has no event {kind:?}; try one of: {}",
            kinds(platform).join(", ")
        ));
    }
    let text = options.text.as_str();
    let member = options.member.as_str();
    let body = match platform {
        Platform::Funtek => {
            let mut event = match kind {
                "join_room" => funtek::join_room(member),
                "add_members" => funtek::add_members(member),
                "delete_members" => funtek::delete_members(member),
                _ => funtek::message(text),
            };
            if let Some(room) = &options.room {
                event = event.room(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            if let Some(state) = &options.state {
                event = event.state(state);
            }
            event.body()
        }
        Platform::Kamigo => {
            let mut event = match kind {
                "member_joined" => kamigo::member_joined(member),
                "member_left" => kamigo::member_left(member),
                "file_uploaded" => kamigo::file_uploaded("image"),
                _ => kamigo::message(text),
            };
            if let Some(room) = &options.room {
                event = event.room(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            event.body()
        }
        Platform::Chatwork => {
            let mut event = match kind {
                "message_updated" => chatwork::message_updated(text),
                "mention_to_me" => chatwork::mention_to_me(text),
                _ => chatwork::message_created(text),
            };
            if let Some(room) = &options.room {
                let room = room
                    .parse::<u64>()
                    .map_err(|_| "Chatwork room ids are numbers".to_owned())?;
                event = event.room(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            event.body()
        }
        Platform::Wechatpadpro => {
            let mut event = match kind {
                "image" => wechatpadpro::message(3, "https://example.com/cat.jpg"),
                "link" => wechatpadpro::message(49, "").set(
                    "/content",
                    serde_json::json!({"title": text, "url": "https://example.com"}),
                ),
                _ => wechatpadpro::text(text),
            };
            if let Some(room) = &options.room {
                event = event.from_user(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            event.body()
        }
        // One event per body; the room is a group (C…), a room (R…) or a user's chat (U…).
        Platform::Line => {
            let mut event = match kind {
                "image" => line::media("image"),
                "follow" => line::follow(),
                "member_joined" => line::member_joined(&[member]),
                "member_left" => line::member_left(&[member]),
                "postback" => line::postback(text),
                _ => line::message(text),
            };
            match options.room.as_deref() {
                Some(room) if room.starts_with('R') => event = event.room(room),
                Some(user) if user.starts_with('U') => event = event.from_user(user),
                Some(group) => event = event.group(group),
                None => {}
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            line::body(&[event])
        }
        // The room is the chat id (a group's is negative); the id the update_id.
        Platform::Telegram => {
            let mut event = match kind {
                "photo" => telegram::photo(text),
                "new_members" => telegram::new_members(&[member]),
                "left_member" => telegram::left_member(member),
                "callback_query" => telegram::callback_query(text),
                _ => telegram::message(text),
            };
            if let Some(room) = &options.room {
                let chat = room
                    .parse::<i64>()
                    .map_err(|_| "Telegram chat ids are numbers".to_owned())?;
                event = event.chat(chat);
            }
            if let Some(id) = &options.id {
                let id = id
                    .parse::<i64>()
                    .map_err(|_| "Telegram update ids are numbers".to_owned())?;
                event = event.id(id);
            }
            event.body()
        }
        // The room is the channel; the id the event_id.
        Platform::Slack => {
            let mut event = match kind {
                "app_mention" => slack::app_mention(text),
                "member_joined" => slack::member_joined(member),
                "member_left" => slack::member_left(member),
                "url_verification" => slack::url_verification(text),
                _ => slack::message(text),
            };
            if let Some(room) = &options.room {
                event = event.channel(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            event.body()
        }
        // `say` is `/say text: <text>`; `command` is `/<text>` with no options.
        Platform::Discord => {
            let mut event = match kind {
                "command" => discord::command(text, None),
                "button" => discord::button(text),
                "ping" => discord::ping(),
                _ => discord::say(text),
            };
            if let Some(room) = &options.room {
                event = event.channel(room);
            }
            if let Some(id) = &options.id {
                event = event.id(id);
            }
            event.body()
        }
        // The id is the webhook-id header (see `Signing::id`); the text is the event's type
        // for `event`, and the room the thing it is about.
        Platform::StandardWebhooks => {
            let about = options.room.as_deref().unwrap_or("1f81eb52");
            match kind {
                "event" => standard_webhooks::event(text, serde_json::json!({ "id": about })),
                _ => standard_webhooks::contact_created(about),
            }
            .body()
        }
    };
    Ok(body)
}

/// How to sign.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signing {
    pub(crate) secret: Option<String>,
    /// WeChatPadPro: sign `timestamp` + body without the colon.
    pub(crate) concat: bool,
    /// Chatwork: the signature in the query parameter.
    pub(crate) in_query: bool,
    /// Standard Webhooks: the `webhook-id` (signed with the body); a fresh one when `None`.
    pub(crate) id: Option<String>,
}

/// A POST of `body` to `url`, signed as `platform` signs.
pub(crate) fn request(
    platform: Platform,
    url: &str,
    signing: &Signing,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, String> {
    let secret = signing.secret.as_deref();
    let need =
        || secret.ok_or_else(|| format!("{platform:?} deliveries are signed: pass --secret"));
    Ok(match platform {
        Platform::Funtek => match secret {
            Some(token) => funtek::Signer::token(token).request(url, body),
            None => funtek::Signer::none().request(url, body),
        },
        Platform::Kamigo => kamigo::Signer::new(need()?).request(url, body),
        Platform::Chatwork => {
            let signer = chatwork::Signer::new(need()?).map_err(|e| e.to_string())?;
            let signer = if signing.in_query {
                signer.in_query()
            } else {
                signer
            };
            signer.request(url, body)
        }
        Platform::Wechatpadpro => {
            let signer = wechatpadpro::Signer::new(need()?);
            let signer = if signing.concat {
                signer.concat()
            } else {
                signer
            };
            signer.request(url, body)
        }
        Platform::Line => line::Signer::new(need()?).request(url, body),
        Platform::Telegram => telegram::Signer::new(need()?).request(url, body),
        Platform::Slack => slack::Signer::new(need()?).request(url, body),
        Platform::Discord => {
            let mut key = [0u8; 32];
            hex::decode_to_slice(need()?.trim(), &mut key).map_err(|_| {
                "a Discord signing key is the 64 hex digits of an Ed25519 secret key".to_owned()
            })?;
            discord::Signer::new(key).request(url, body)
        }
        Platform::StandardWebhooks => {
            let signer = standard_webhooks::Signer::new(need()?).map_err(|e| e.to_string())?;
            let id = signing
                .id
                .clone()
                .unwrap_or_else(standard_webhooks::message_id);
            signer.request_with_id(url, &id, body)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_every_platform_builds_and_signs() {
        for platform in Platform::value_variants() {
            for kind in kinds(*platform) {
                let options = Options {
                    event: Some((*kind).to_owned()),
                    text: "hi".into(),
                    room: Some("42".into()),
                    id: Some("4242".into()),
                    state: Some("idle".into()),
                    member: "Ann".into(),
                };
                let body = body(*platform, &options).expect("a body");
                let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
                assert!(json.is_object());
                // Base64 for the platforms that want it, hex for Discord's key.
                let secret = if *platform == Platform::Discord {
                    botwire_testkit::discord::RFC8032_SECRET_KEY
                } else {
                    "aGVsbG8="
                };
                let signing = Signing {
                    secret: Some(secret.into()),
                    ..Signing::default()
                };
                let request =
                    request(*platform, "http://127.0.0.1:8080/x", &signing, body).expect("signed");
                assert_eq!(request.method(), http::Method::POST);
            }
        }
    }

    #[test]
    fn bad_input_is_explained() {
        let options = Options {
            event: Some("nope".into()),
            ..Options::default()
        };
        let error = body(Platform::Kamigo, &options).unwrap_err();
        assert!(error.contains("message, member_joined"), "{error}");
        let chatwork_room = Options {
            room: Some("abc".into()),
            ..Options::default()
        };
        assert!(body(Platform::Chatwork, &chatwork_room).is_err());
        let telegram_id = Options {
            id: Some("abc".into()),
            ..Options::default()
        };
        let error = body(Platform::Telegram, &telegram_id).unwrap_err();
        assert!(error.contains("update ids are numbers"), "{error}");
        let discord_key = request(
            Platform::Discord,
            "http://x/",
            &Signing {
                secret: Some("not hex".into()),
                ..Signing::default()
            },
            Bytes::new(),
        );
        assert!(discord_key.unwrap_err().contains("64 hex digits"));
        let unsigned = request(
            Platform::Kamigo,
            "http://x/",
            &Signing::default(),
            Bytes::new(),
        );
        assert!(unsigned.unwrap_err().contains("--secret"));
        let bad_token = Signing {
            secret: Some("%%%".into()),
            ..Signing::default()
        };
        assert!(request(Platform::Chatwork, "http://x/", &bad_token, Bytes::new()).is_err());
        let not_whsec = request(
            Platform::StandardWebhooks,
            "http://x/",
            &bad_token,
            Bytes::new(),
        );
        assert!(not_whsec.unwrap_err().contains("whsec_"));
    }

    #[test]
    fn a_standard_webhooks_delivery_carries_its_id_in_a_header() {
        let signing = Signing {
            secret: Some(standard_webhooks::SECRET.into()),
            id: Some("msg_fixed".into()),
            ..Signing::default()
        };
        let options = Options {
            event: Some("event".into()),
            text: "invoice.paid".into(),
            room: Some("inv-7".into()),
            ..Options::default()
        };
        let body = body(Platform::StandardWebhooks, &options).expect("a body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (json["type"].as_str(), json["data"]["id"].as_str()),
            (Some("invoice.paid"), Some("inv-7"))
        );
        let signed = request(Platform::StandardWebhooks, "/", &signing, body).expect("signed");
        assert_eq!(signed.headers()["webhook-id"], "msg_fixed");
        assert!(
            signed.headers()["webhook-signature"]
                .to_str()
                .expect("ascii")
                .starts_with("v1,")
        );
    }
}
