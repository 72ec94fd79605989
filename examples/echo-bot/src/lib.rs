//! A SimSimi-style echo bot, botwire's sample.
//!
//! - **idle** (initial): a member who joins is welcomed by name; `teach` moves to `teaching`; a
//!   phrase it was taught gets the taught answer; any other text is echoed back.
//! - **teaching**: `<phrase> => <answer>` learns it and goes back to idle; `cancel` goes back to
//!   idle; anything else asks again and stays.
//!
//! What it learns is kept per conversation, in memory.

use std::collections::HashMap;
use std::sync::Arc;

use botwire::prelude::*;
use botwire::{BuildError, Member};
use dashmap::DashMap;

/// The initial state.
pub const IDLE: &str = "idle";
/// The state that waits for `<phrase> => <answer>`.
pub const TEACHING: &str = "teaching";
/// What the bot says when asked to learn.
pub const TEACH_PROMPT: &str = "Teach me: <phrase> => <answer> (or \"cancel\")";

/// Taught answers, per conversation, by normalized phrase.
///
/// ```
/// let knowledge = echo_bot::Knowledge::default();
/// knowledge.learn("room-1", "Good  Morning", "hello!");
/// assert_eq!(knowledge.answer("room-1", "good morning").as_deref(), Some("hello!"));
/// assert_eq!(knowledge.answer("room-2", "good morning"), None);
/// ```
#[derive(Debug, Default)]
pub struct Knowledge {
    answers: DashMap<String, HashMap<String, String>>,
}

impl Knowledge {
    /// Learns `answer` for `phrase` in `conversation`.
    pub fn learn(&self, conversation: &str, phrase: &str, answer: &str) {
        self.answers
            .entry(conversation.to_owned())
            .or_default()
            .insert(normalize(phrase), answer.to_owned());
    }

    /// The answer taught for `phrase` in `conversation`.
    pub fn answer(&self, conversation: &str, phrase: &str) -> Option<String> {
        self.answers
            .get(conversation)
            .and_then(|taught| taught.get(&normalize(phrase)).cloned())
    }
}

/// Phrases match whatever their case and spacing.
fn normalize(phrase: &str) -> String {
    phrase
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The bot, with its own empty knowledge.
///
/// # Errors
/// Never in practice: the states are fixed. The `Result` is the builder's.
pub fn bot() -> Result<Bot, BuildError> {
    bot_with(Arc::new(Knowledge::default()))
}

/// The bot, learning into `knowledge`.
///
/// # Errors
/// As [`bot`].
pub fn bot_with(knowledge: Arc<Knowledge>) -> Result<Bot, BuildError> {
    Bot::builder()
        .initial(IDLE)
        .state(
            IDLE,
            Idle {
                knowledge: knowledge.clone(),
            },
        )
        .state(TEACHING, Teaching { knowledge })
        .build()
}

struct Idle {
    knowledge: Arc<Knowledge>,
}

struct Teaching {
    knowledge: Arc<Knowledge>,
}

#[async_trait]
impl Handler for Idle {
    async fn handle(&self, cx: &Context, event: &Event) -> Result<Reply, BoxError> {
        if let Some(welcome) = welcome(event.joined()) {
            return Ok(welcome);
        }
        let Some(text) = human_text(event) else {
            return Ok(Reply::none());
        };
        if text.trim().eq_ignore_ascii_case("teach") {
            return Ok(Reply::text(TEACH_PROMPT).goto(TEACHING));
        }
        Ok(match self.knowledge.answer(cx.conversation(), text) {
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
        let Some(text) = human_text(event) else {
            return Ok(Reply::none());
        };
        if text.trim().eq_ignore_ascii_case("cancel") {
            return Ok(Reply::text("OK, never mind.").goto(IDLE));
        }
        let lesson = text
            .split_once("=>")
            .map(|(phrase, answer)| (phrase.trim(), answer.trim()))
            .filter(|(phrase, answer)| !phrase.is_empty() && !answer.is_empty());
        Ok(match lesson {
            Some((phrase, answer)) => {
                self.knowledge.learn(cx.conversation(), phrase, answer);
                Reply::text(format!("Got it: \"{phrase}\" => \"{answer}\"")).goto(IDLE)
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

/// The text of a message from a person; bots' messages are ignored so that two bots never
/// echo each other forever.
fn human_text(event: &Event) -> Option<&str> {
    if event.sender().is_some_and(|s| s.is_bot) {
        return None;
    }
    event.text()
}
