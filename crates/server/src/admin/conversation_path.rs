//! The paths under `/conversations/`: `{channel}/{conversation}` (look it up) and
//! `{channel}/{conversation}/messages` (send to it), each segment percent-decoded, so that a
//! conversation id with a `/` in it travels as `%2F`.

use percent_encoding::percent_decode_str;

/// What a path under `/conversations/` names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ConversationPath {
    /// `/conversations/{channel}/{conversation}`.
    Conversation {
        channel: String,
        conversation: String,
    },
    /// `/conversations/{channel}/{conversation}/messages`.
    Messages {
        channel: String,
        conversation: String,
    },
}

impl ConversationPath {
    /// The conversation path `path` is, or `None` for any other path.
    pub(super) fn parse(path: &str) -> Option<Self> {
        let mut segments = path.strip_prefix("/conversations/")?.split('/');
        let channel = decode(segments.next()?)?;
        let conversation = decode(segments.next()?)?;
        match (segments.next(), segments.next()) {
            (None, _) => Some(Self::Conversation {
                channel,
                conversation,
            }),
            (Some("messages"), None) => Some(Self::Messages {
                channel,
                conversation,
            }),
            _ => None,
        }
    }
}

/// A non-empty segment, percent-decoded as UTF-8.
fn decode(segment: &str) -> Option<String> {
    if segment.is_empty() {
        return None;
    }
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(channel: &str, conversation: &str) -> Option<ConversationPath> {
        Some(ConversationPath::Messages {
            channel: channel.into(),
            conversation: conversation.into(),
        })
    }

    #[test]
    fn a_path_names_a_channel_and_a_conversation() {
        assert_eq!(
            ConversationPath::parse("/conversations/wechatpadpro/4242@chatroom/messages"),
            messages("wechatpadpro", "4242@chatroom")
        );
        assert_eq!(
            ConversationPath::parse("/conversations/kamigo/a%2Fb%20c/messages"),
            messages("kamigo", "a/b c")
        );
        assert_eq!(
            ConversationPath::parse("/conversations/kamigo/a%2Fb"),
            Some(ConversationPath::Conversation {
                channel: "kamigo".into(),
                conversation: "a/b".into()
            })
        );
        for path in [
            "/conversations/kamigo",
            "/conversations/kamigo/",
            "/conversations//r/messages",
            "/conversations/k/a/b/messages",
            "/conversations/k/r/other",
            "/conversations/k/r/messages/more",
            "/conversations/k/%FF/messages",
            "/conversations/k/%FF",
            "/conversation/k/r",
        ] {
            assert_eq!(ConversationPath::parse(path), None, "{path}");
        }
    }
}
