//! The platforms as the soak sends them: good deliveries, forged ones, malformed ones. Every
//! platform whose messages carry text (all but Standard Webhooks, whose events have none).

use botwire::Channel;
use botwire::platforms::auth::Secret;
use botwire::platforms::chatwork::ChatworkAdapter;
use botwire::platforms::discord::DiscordAdapter;
use botwire::platforms::funtek::FuntekAdapter;
use botwire::platforms::kamigo::KamigoAdapter;
use botwire::platforms::line::LineAdapter;
use botwire::platforms::slack::SlackAdapter;
use botwire::platforms::telegram::TelegramAdapter;
use botwire::platforms::wechatpadpro::WeChatPadProAdapter;
use botwire_testkit::{chatwork, discord, funtek, kamigo, line, slack, telegram, wechatpadpro};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;

const FUNTEK_TOKEN: &str = "soak-funtek-token";
const KAMIGO_SECRET: &str = "soak-kamigo-secret";
/// base64 of "soak-chatwork-key".
const CHATWORK_TOKEN: &str = "c29hay1jaGF0d29yay1rZXk=";
const WECHAT_SECRET: &str = "soak-wechat-secret";
const LINE_SECRET: &str = "soak-line-secret";
const TELEGRAM_SECRET: &str = "soak-telegram-secret";
const SLACK_SECRET: &str = "soak-slack-secret";
/// What forged deliveries are signed with.
const WRONG: &str = "d3Jvbmc=";

/// A platform the soak drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Funtek,
    Kamigo,
    Chatwork,
    WeChatPadPro,
    Line,
    Telegram,
    Slack,
    Discord,
}

pub(crate) const ALL: [Platform; 8] = [
    Platform::Funtek,
    Platform::Kamigo,
    Platform::Chatwork,
    Platform::WeChatPadPro,
    Platform::Line,
    Platform::Telegram,
    Platform::Slack,
    Platform::Discord,
];

impl Platform {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Funtek => "funtek",
            Self::Kamigo => "kamigo",
            Self::Chatwork => "chatwork",
            Self::WeChatPadPro => "wechatpadpro",
            Self::Line => "line",
            Self::Telegram => "telegram",
            Self::Slack => "slack",
            Self::Discord => "discord",
        }
    }

    fn path(self) -> String {
        format!("/webhooks/{}", self.name())
    }

    /// Whether replies go through the outbox (all but the in-response ones).
    pub(crate) fn via_api(self) -> bool {
        !matches!(self, Self::Funtek | Self::Telegram | Self::Discord)
    }

    /// The reply's text in an in-response platform's answer.
    pub(crate) fn answered_text(self, answer: &serde_json::Value) -> Option<&str> {
        let pointer = match self {
            Self::Funtek => "/data/message",
            Self::Telegram => "/text",
            Self::Discord => "/data/content",
            _ => return None,
        };
        answer.pointer(pointer).and_then(serde_json::Value::as_str)
    }

    /// Where a message body the soak built keeps its text.
    pub(crate) fn text_pointer(self) -> &'static str {
        match self {
            Self::Funtek => "/data/message",
            Self::Kamigo => "/data/content",
            Self::Chatwork => "/webhook_event/body",
            Self::WeChatPadPro => "/content",
            Self::Line => "/events/0/message/text",
            Self::Telegram => "/message/text",
            Self::Slack => "/event/text",
            Self::Discord => "/data/options/0/value",
        }
    }

    /// The channel, accepting the soak's secrets.
    ///
    /// # Panics
    /// Never: the secrets are fixed and valid.
    pub(crate) fn channel(self) -> Channel {
        let name = self.name();
        let built = match self {
            Self::Funtek => FuntekAdapter::builder()
                .token(FUNTEK_TOKEN)
                .build()
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Kamigo => KamigoAdapter::new(&[Secret::new(KAMIGO_SECRET)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Chatwork => ChatworkAdapter::new(&[Secret::new(CHATWORK_TOKEN)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::WeChatPadPro => WeChatPadProAdapter::new(&[Secret::new(WECHAT_SECRET)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Line => LineAdapter::new(&[Secret::new(LINE_SECRET)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Telegram => TelegramAdapter::new(&[Secret::new(TELEGRAM_SECRET)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Slack => SlackAdapter::new(&[Secret::new(SLACK_SECRET)])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
            Self::Discord => DiscordAdapter::new(&[discord::RFC8032_PUBLIC_KEY])
                .map(|a| Channel::new(name, a))
                .map_err(|e| e.to_string()),
        };
        built.unwrap_or_else(|error| unreachable!("the soak's secrets are valid: {error}"))
    }

    /// A message with `text` in conversation number `room`, as the platform sends it.
    pub(crate) fn message(self, text: &str, room: u32) -> Bytes {
        match self {
            Self::Funtek => funtek::message(text).room(&format!("room{room}")).body(),
            Self::Kamigo => kamigo::message(text).room(&format!("C{room}")).body(),
            Self::Chatwork => chatwork::message_created(text)
                .room(1000 + u64::from(room))
                .body(),
            Self::WeChatPadPro => wechatpadpro::text(text)
                .from_user(&format!("wxid_soak{room}"))
                .body(),
            Self::Line => line::body(&[line::message(text).from_user(&format!("Usoak{room}"))]),
            Self::Telegram => telegram::message(text)
                .chat(-1_000_000 - i64::from(room))
                .body(),
            Self::Slack => slack::message(text).channel(&format!("Csoak{room}")).body(),
            Self::Discord => discord::say(text)
                .channel(&(900_000 + room).to_string())
                .body(),
        }
    }

    /// `body`, signed as the platform signs it.
    pub(crate) fn signed(self, body: Bytes) -> Request<Full<Bytes>> {
        self.sign_with(body, None)
    }

    /// `body`, signed with a secret the channel does not know.
    pub(crate) fn forged(self, body: Bytes) -> Request<Full<Bytes>> {
        self.sign_with(body, Some(WRONG))
    }

    fn sign_with(self, body: Bytes, wrong: Option<&str>) -> Request<Full<Bytes>> {
        let path = self.path();
        match self {
            Self::Funtek => {
                funtek::Signer::token(wrong.unwrap_or(FUNTEK_TOKEN)).request(&path, body)
            }
            Self::Kamigo => {
                kamigo::Signer::new(wrong.unwrap_or(KAMIGO_SECRET)).request(&path, body)
            }
            Self::Chatwork => match chatwork::Signer::new(wrong.unwrap_or(CHATWORK_TOKEN)) {
                Ok(signer) => signer.request(&path, body),
                Err(error) => unreachable!("the soak's tokens are base64: {error}"),
            },
            Self::WeChatPadPro => {
                wechatpadpro::Signer::new(wrong.unwrap_or(WECHAT_SECRET)).request(&path, body)
            }
            Self::Line => line::Signer::new(wrong.unwrap_or(LINE_SECRET)).request(&path, body),
            Self::Telegram => {
                telegram::Signer::new(wrong.unwrap_or(TELEGRAM_SECRET)).request(&path, body)
            }
            Self::Slack => slack::Signer::new(wrong.unwrap_or(SLACK_SECRET)).request(&path, body),
            Self::Discord => match wrong {
                Some(_) => discord::Signer::new([7; 32]).request(&path, body),
                None => discord::Signer::rfc8032().request(&path, body),
            },
        }
    }

    /// The status a signed but malformed body gets (Chatwork, which never resends, answers
    /// every verified delivery with 200 and names the problem in the body).
    pub(crate) fn malformed_status(self) -> StatusCode {
        match self {
            Self::Chatwork => StatusCode::OK,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}
