//! `botwire say`: asks a running bot's admin listener to send a message by itself
//! (`POST /conversations/{channel}/{conversation}/messages`).

use std::process::ExitCode;

use clap::Args;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// Sends a message to a conversation through a running bot (its admin listener).
#[derive(Debug, Args)]
pub(crate) struct Say {
    /// The channel (`funtek`, `chatwork`, or a channel's own name).
    #[arg(long)]
    channel: String,
    /// The conversation: a room, group or chat id.
    #[arg(long)]
    conversation: String,
    /// The text to send.
    #[arg(long)]
    text: String,
    /// The admin listener's address.
    #[arg(
        long,
        env = "BOTWIRE_ADMIN_LISTEN",
        default_value = "127.0.0.1:9090",
        value_name = "ADDR"
    )]
    admin: String,
    /// The admin token, when the listener requires one (sent as `Authorization: Bearer`).
    #[arg(
        long,
        env = "BOTWIRE_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    admin_token: Option<String>,
}

impl Say {
    /// The URL of the message endpoint, each segment percent-encoded.
    fn url(&self) -> String {
        let base = if self.admin.contains("://") {
            self.admin.trim_end_matches('/').to_owned()
        } else {
            format!("http://{}", self.admin)
        };
        format!(
            "{base}/conversations/{}/{}/messages",
            utf8_percent_encode(&self.channel, NON_ALPHANUMERIC),
            utf8_percent_encode(&self.conversation, NON_ALPHANUMERIC),
        )
    }
}

pub(crate) async fn run(say: Say) -> Result<ExitCode, String> {
    let url = say.url();
    let body = serde_json::json!({ "text": say.text }).to_string();
    let mut request = reqwest::Client::new()
        .post(&url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(token) = &say.admin_token {
        // The first of a comma-separated list, as the server's variable may hold several.
        let token = token.split(',').next().unwrap_or_default().trim();
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("cannot reach the admin listener at {}: {e}", say.admin))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("HTTP {}\n{text}", status.as_u16());
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_and_the_scheme_is_optional() {
        let say = Say {
            channel: "wechatpadpro".into(),
            conversation: "4242@chatroom/x".into(),
            text: "hi".into(),
            admin: "127.0.0.1:9090".into(),
            admin_token: None,
        };
        assert_eq!(
            say.url(),
            "http://127.0.0.1:9090/conversations/wechatpadpro/4242%40chatroom%2Fx/messages"
        );
        let say = Say {
            admin: "https://admin.example/".into(),
            ..say
        };
        assert!(
            say.url()
                .starts_with("https://admin.example/conversations/")
        );
    }
}
