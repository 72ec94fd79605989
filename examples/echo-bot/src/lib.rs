//! A SimSimi-style echo bot, botwire's sample.
//!
//! - **idle** (initial): a member who joins is welcomed by name; `teach` moves to `teaching`; a
//!   phrase it was taught gets the taught answer; any other text is echoed back; a picture, a
//!   file or another message without text gets a line saying it reads only text.
//! - **teaching**: `<phrase> => <answer>` learns it and goes back to idle; `cancel` goes back to
//!   idle; anything else asks again and stays. After [`TEACH_TIMEOUT`] (or the binary's
//!   `ECHO_BOT_TEACH_TIMEOUT`) without a message it goes back to idle by itself, saying so.
//!
//! What it learns is kept per conversation in the server's store (`Context::remember`): in the
//! default embedded store it survives restarts.

use botwire::middleware::IgnoreBots;
use std::time::Duration;

use botwire::prelude::*;
use botwire::{BuildError, Member, MessageType, StateTimeout};

/// The initial state's name.
pub const IDLE: &str = "idle";
/// The name of the state that waits for `<phrase> => <answer>`.
pub const TEACHING: &str = "teaching";

/// The bot's states. Their names are what FUNTEK and the state store keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Echoes, answers what it was taught, welcomes who joins.
    Idle,
    /// Waits for `<phrase> => <answer>`.
    Teaching,
}

impl BotState for Step {
    const ALL: &'static [Self] = &[Step::Idle, Step::Teaching];

    fn name(self) -> &'static str {
        match self {
            Step::Idle => IDLE,
            Step::Teaching => TEACHING,
        }
    }
}
/// How its answer to a message without text begins: "I only read text, so I can't see that
/// picture."
pub const NOT_TEXT: &str = "I only read text, so I can't see";
/// How long `teaching` waits for a lesson before it gives up.
pub const TEACH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// What it says when it gives up waiting.
pub const TIMED_OUT: &str = "Teaching timed out; say \"teach\" to start again.";
/// What the bot says when asked to learn.
pub const TEACH_PROMPT: &str = "Teach me: <phrase> => <answer> (or \"cancel\")";

/// Where a taught answer is kept in the conversation's data.
///
/// ```
/// assert_eq!(echo_bot::answer_key("Good  Morning"), echo_bot::answer_key("good morning"));
/// ```
pub fn answer_key(phrase: &str) -> String {
    format!("answer:{}", normalize(phrase))
}

/// Phrases match whatever their case and spacing.
fn normalize(phrase: &str) -> String {
    phrase
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The bot, leaving `teaching` after [`TEACH_TIMEOUT`].
///
/// # Errors
/// Never in practice: the states are fixed. The `Result` is the builder's.
pub fn bot() -> Result<Bot, BuildError> {
    bot_with(TEACH_TIMEOUT)
}

/// The bot, leaving `teaching` after `teach_timeout` without a message.
///
/// # Errors
/// When `teach_timeout` is zero.
pub fn bot_with(teach_timeout: Duration) -> Result<Bot, BuildError> {
    Bot::builder_for::<Step>()
        // Bots' messages are never answered, so two bots never echo each other forever.
        .middleware(IgnoreBots)
        .initial(Step::Idle)
        .state(Step::Idle, Idle)
        .state(Step::Teaching, Teaching)
        .transitions(Step::Idle, [Step::Teaching])
        .transitions(Step::Teaching, [Step::Idle])
        .timeout(
            Step::Teaching,
            StateTimeout::new(teach_timeout, Step::Idle).saying(TIMED_OUT),
        )
        .build()
}

struct Idle;

struct Teaching;

#[async_trait]
impl Handler for Idle {
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        if let Some(welcome) = welcome(event.joined()) {
            return Ok(welcome);
        }
        let Some(text) = event.text() else {
            return Ok(not_text(event));
        };
        if text.trim().eq_ignore_ascii_case("teach") {
            return Ok(Reply::text(TEACH_PROMPT).goto(Step::Teaching));
        }
        Ok(match cx.recall(&answer_key(text)).await? {
            Some(answer) => Reply::text(answer),
            None => Reply::text(text),
        })
    }
}

#[async_trait]
impl Handler for Teaching {
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        if let Some(welcome) = welcome(event.joined()) {
            return Ok(welcome);
        }
        let Some(text) = event.text() else {
            return Ok(not_text(event));
        };
        if text.trim().eq_ignore_ascii_case("cancel") {
            return Ok(Reply::text("OK, never mind.").goto(Step::Idle));
        }
        let lesson = text
            .split_once("=>")
            .map(|(phrase, answer)| (phrase.trim(), answer.trim()))
            .filter(|(phrase, answer)| !phrase.is_empty() && !answer.is_empty());
        Ok(match lesson {
            Some((phrase, answer)) => {
                cx.remember(&answer_key(phrase), answer).await?;
                Reply::text(format!("Got it: \"{phrase}\" => \"{answer}\"")).goto(Step::Idle)
            }
            None => Reply::text(TEACH_PROMPT),
        })
    }
}

/// A welcome naming the people (not bots) who joined.
fn welcome(joined: &[Member]) -> Option<Reply> {
    let names: Vec<&str> = joined
        .iter()
        .filter(|m| !m.is_bot)
        .map(Member::name)
        .collect();
    (!names.is_empty()).then(|| Reply::text(format!("Welcome, {}!", names.join(", "))))
}

/// What it says to a message that has no text (a picture, a file, …): that it reads only
/// text. Nothing to a message without content, or to any other event.
fn not_text(event: &Event) -> Reply {
    let Some(message) = event.message() else {
        return Reply::none();
    };
    let thing = match &message.message_type {
        MessageType::Text => return Reply::none(),
        MessageType::Image => "picture",
        MessageType::Video => "video",
        MessageType::Audio => "voice message",
        MessageType::Location => "location",
        MessageType::Sticker => "sticker",
        MessageType::Url => "link",
        MessageType::File => "file",
        _ => "message",
    };
    Reply::text(format!("{NOT_TEXT} that {thing}."))
}
