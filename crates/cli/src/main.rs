//! `botwire`: sign and send realistic platform deliveries to a bot, or print the headers a
//! platform would sign a body with.
//!
//! ```text
//! botwire send --platform kamigo --url http://127.0.0.1:8080/webhooks/kamigo --secret s --text hi
//! echo '{"msgId":"1"}' | botwire sign --platform wechatpadpro --secret s
//! echo '{"type":"a.b"}' | botwire sign --platform standard_webhooks --secret whsec_… --id msg_1
//! botwire say --channel chatwork --conversation 123456 --text "The build is green"
//! botwire store --data-dir ./botwire-data export > backup.jsonl
//! ```

mod sample;
mod say;
mod store;

use std::io::Read;
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use http_body_util::BodyExt;

use crate::sample::{Options, Platform, Signing};

/// Sign and send chat-platform webhook deliveries, exactly as each platform does.
#[derive(Debug, Parser)]
#[command(name = "botwire", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sends a signed sample delivery and prints the response.
    Send(Send),
    /// Reads a body on stdin and prints the headers (and query) a platform would sign it with.
    Sign(Sign),
    /// Sends a message to a conversation through a running bot, by itself (not a reply).
    Say(say::Say),
    /// Reads and changes a stopped bot's embedded store: states, what it remembered, dead
    /// letters.
    Store(store::Store),
}

#[derive(Debug, Args)]
struct Send {
    /// The platform to speak for.
    #[arg(long, value_enum)]
    platform: Platform,
    /// The webhook URL, e.g. http://127.0.0.1:8080/webhooks/kamigo.
    #[arg(long)]
    url: String,
    #[command(flatten)]
    signing: SigningArgs,
    /// The event: funtek message|join_room|add_members|delete_members; kamigo
    /// message|member_joined|member_left|file_uploaded; chatwork
    /// message_created|message_updated|mention_to_me; wechatpadpro text|image|link; line
    /// message|image|follow|member_joined|member_left|postback; telegram
    /// message|photo|new_members|left_member|callback_query; slack
    /// message|app_mention|member_joined|member_left|url_verification; discord
    /// say|command|button|ping (the text is what /say says, or the command's name);
    /// standard_webhooks
    /// contact_created|event (the text is the event's type).
    #[arg(long)]
    event: Option<String>,
    /// The message text.
    #[arg(long, default_value = "hello")]
    text: String,
    /// The room, group or chat (Chatwork: a number; WeChatPadPro: the sender's id; LINE: a
    /// group C…, room R… or user U…; Telegram: the chat id; Slack, Discord: the channel;
    /// Standard Webhooks: the data.id the event is about).
    #[arg(long)]
    room: Option<String>,
    /// The message id (default: a fresh one; Standard Webhooks: the webhook-id). Send the same
    /// id twice to see deduplication.
    #[arg(long)]
    id: Option<String>,
    /// FUNTEK: the room's bot state (botState).
    #[arg(long)]
    state: Option<String>,
    /// The member who joins or leaves, for member events.
    #[arg(long, default_value = "Desirae")]
    member: String,
    /// Sends the same delivery this many times (the same id: duplicates).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
}

#[derive(Debug, Args)]
struct Sign {
    /// The platform to sign as.
    #[arg(long, value_enum)]
    platform: Platform,
    #[command(flatten)]
    signing: SigningArgs,
    /// Standard Webhooks: the webhook-id to sign with the body (default: a fresh one).
    #[arg(long)]
    id: Option<String>,
}

#[derive(Debug, Args)]
struct SigningArgs {
    /// The channel's secret: FUNTEK token, Kamigo secret, Chatwork webhook token (base64),
    /// WeChatPadPro secret, LINE channel secret, Telegram secret token, Slack signing secret,
    /// Discord Ed25519 secret key (hex), Standard Webhooks whsec_ secret.
    #[arg(long, env = "BOTWIRE_SEND_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// WeChatPadPro: sign timestamp + body without the colon.
    #[arg(long)]
    concat: bool,
    /// Chatwork: put the signature in the query parameter instead of the header.
    #[arg(long)]
    query: bool,
}

impl SigningArgs {
    /// How to sign; `id` is a Standard Webhooks `webhook-id`.
    fn signing(&self, id: Option<String>) -> Signing {
        Signing {
            secret: self.secret.clone(),
            concat: self.concat,
            in_query: self.query,
            id,
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Send(send) => run_send(send).await,
        Command::Sign(sign) => run_sign(&sign),
        Command::Say(say) => say::run(say).await,
        Command::Store(store) => store::run(store).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("botwire: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run_send(send: Send) -> Result<ExitCode, String> {
    let options = Options {
        event: send.event,
        text: send.text,
        room: send.room,
        id: send.id,
        state: send.state,
        member: send.member,
    };
    let body = sample::body(send.platform, &options)?;
    // Standard Webhooks carries the id in a header: one for every repeat, so they are
    // duplicates as on the other platforms.
    let webhook_id = (send.platform == Platform::StandardWebhooks).then(|| {
        options
            .id
            .clone()
            .unwrap_or_else(botwire_testkit::standard_webhooks::message_id)
    });
    let client = reqwest::Client::new();
    let mut all_ok = true;
    for _ in 0..send.repeat.max(1) {
        // Signed afresh each time: WeChatPadPro's signature carries the time.
        let request = sample::request(
            send.platform,
            &send.url,
            &send.signing.signing(webhook_id.clone()),
            body.clone(),
        )?;
        let (parts, full) = request.into_parts();
        let bytes = full
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let request = reqwest::Request::try_from(http::Request::from_parts(parts, bytes))
            .map_err(|e| format!("not a usable URL: {e}"))?;
        let response = client
            .execute(request)
            .await
            .map_err(|e| format!("cannot reach {}: {e}", send.url))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        println!("HTTP {}\n{text}", status.as_u16());
        all_ok &= status.is_success();
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_sign(sign: &Sign) -> Result<ExitCode, String> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| format!("cannot read the body on stdin: {e}"))?;
    let request = sample::request(
        sign.platform,
        "/",
        &sign.signing.signing(sign.id.clone()),
        Bytes::from(body),
    )?;
    for (name, value) in request.headers() {
        if name != http::header::CONTENT_TYPE {
            println!("{name}: {}", value.to_str().unwrap_or_default());
        }
    }
    if let Some(query) = request.uri().query() {
        println!("?{query}");
    }
    Ok(ExitCode::SUCCESS)
}
