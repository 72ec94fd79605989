//! `WordFilter`: messages that contain a listed word are not handled (the seeds' 訊息過濾,
//! filtering unwanted content).

use async_trait::async_trait;

use super::{Middleware, Next};
use crate::{BoxError, Context, Event, Reply};

/// Stops every text message that contains one of its words, compared without regard to case
/// (Unicode lower case, so it works beyond ASCII); the handler never sees it. By default the
/// message is dropped without an answer (the delivery log shows it as `no_reply`);
/// [`answer`](Self::answer) says something instead.
#[derive(Debug, Clone)]
pub struct WordFilter {
    words: Vec<String>,
    answer: Option<String>,
}

impl WordFilter {
    /// A filter of `words`; empty words are left out (they would match everything).
    pub fn new<I>(words: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let words = words
            .into_iter()
            .map(|word| word.as_ref().trim().to_lowercase())
            .filter(|word| !word.is_empty())
            .collect();
        Self {
            words,
            answer: None,
        }
    }

    /// Answers a stopped message with `text` instead of nothing.
    #[must_use]
    pub fn answer(mut self, text: impl Into<String>) -> Self {
        self.answer = Some(text.into());
        self
    }

    /// Whether `text` contains one of the words.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        self.words.iter().any(|word| text.contains(word.as_str()))
    }
}

#[async_trait]
impl Middleware for WordFilter {
    async fn handle(&self, cx: &Context, event: &Event, next: Next) -> Result<Reply, BoxError> {
        if event.text().is_some_and(|text| self.matches(text)) {
            return Ok(self.answer.as_deref().map_or_else(Reply::none, Reply::text));
        }
        next.run(cx, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, says, text};
    use crate::{Bot, OutMessage};

    async fn answer(filter: WordFilter, said: &str) -> Option<String> {
        let bot = Bot::builder()
            .middleware(filter)
            .initial("a")
            .state("a", says("handled"))
            .build()
            .expect("valid bot");
        let out = bot
            .dispatch(&context(&bot, None), &text(said))
            .await
            .expect("dispatched");
        out.reply
            .out_message()
            .map(OutMessage::body)
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn a_listed_word_anywhere_in_any_case_stops_the_message() {
        let filter = || WordFilter::new(["spam", "垃圾", " "]);
        assert_eq!(answer(filter(), "buy SPAM now").await, None);
        assert_eq!(answer(filter(), "這是垃圾訊息").await, None);
        assert_eq!(
            answer(filter(), "hello there").await.as_deref(),
            Some("handled")
        );
        let polite = filter().answer("Let's keep it friendly.");
        assert_eq!(
            answer(polite, "Spam!").await.as_deref(),
            Some("Let's keep it friendly.")
        );
        assert!(!WordFilter::new([""]).matches("anything"), "no empty word");
    }
}
