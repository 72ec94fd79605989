//! `RateLimitPerSender`: a sender who writes faster than a limit is not answered until the
//! window lets them in again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Middleware, Next};
use crate::{BoxError, Context, Event, Reply};

/// How many senders it keeps before it forgets those with nothing left in their window.
const TIDY_AT: usize = 4096;

/// Lets each sender (per channel) through at most `limit` times in any `per`; the events
/// beyond are dropped (or answered, with [`answer`](Self::answer)) without running the
/// handler. Events without a sender pass. Time is [`Context::now`], so tests move it by hand.
///
/// The counts live in this process: with several instances behind one Redis, each counts
/// what it handles.
#[derive(Debug, Clone)]
pub struct RateLimitPerSender {
    limit: usize,
    per: Duration,
    answer: Option<String>,
    seen: Arc<Mutex<HashMap<(String, String), Window>>>,
}

impl RateLimitPerSender {
    /// At most `limit` events per sender in any window of `per`. A `limit` of 0 lets nobody
    /// through.
    pub fn new(limit: usize, per: Duration) -> Self {
        Self {
            limit,
            per,
            answer: None,
            seen: Arc::default(),
        }
    }

    /// Answers the first event over the limit in a window with `text` (later ones in the same
    /// window get nothing, so the bot does not flood the flooder).
    #[must_use]
    pub fn answer(mut self, text: impl Into<String>) -> Self {
        self.answer = Some(text.into());
        self
    }

    /// Counts one event of `sender` on `channel` at `now`: whether it may pass, and whether it
    /// is the first one refused since the sender was last let through.
    fn admit(&self, channel: &str, sender: &str, now: Instant) -> Admission {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= TIDY_AT {
            seen.retain(|_, window| window.open_at(now, self.per).is_some());
        }
        let window = seen
            .entry((channel.to_owned(), sender.to_owned()))
            .or_default();
        while window
            .passes
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.per)
        {
            window.passes.pop_front();
        }
        if window.passes.len() < self.limit {
            window.passes.push_back(now);
            window.told = false;
            Admission::Pass
        } else if window.told {
            Admission::Refused
        } else {
            window.told = true;
            Admission::FirstRefusal
        }
    }
}

/// One sender's passes inside the window, oldest first, and whether they were told they are
/// over the limit since their last pass.
#[derive(Debug, Default)]
struct Window {
    passes: VecDeque<Instant>,
    told: bool,
}

impl Window {
    /// The newest pass, if it is still inside the window at `now`.
    fn open_at(&self, now: Instant, per: Duration) -> Option<Instant> {
        self.passes
            .back()
            .copied()
            .filter(|t| now.duration_since(*t) < per)
    }
}

enum Admission {
    Pass,
    FirstRefusal,
    Refused,
}

#[async_trait]
impl Middleware for RateLimitPerSender {
    async fn handle(&self, cx: &Context, event: &Event, next: Next) -> Result<Reply, BoxError> {
        let Some(sender) = event.sender() else {
            return next.run(cx, event).await;
        };
        match self.admit(cx.channel(), &sender.id, cx.now()) {
            Admission::Pass => next.run(cx, event).await,
            Admission::FirstRefusal => {
                Ok(self.answer.as_deref().map_or_else(Reply::none, Reply::text))
            }
            Admission::Refused => Ok(Reply::none()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, from, says};
    use crate::{Bot, Member, OutMessage};

    #[tokio::test]
    async fn each_sender_gets_its_limit_per_window() {
        let bot = Bot::builder()
            .middleware(RateLimitPerSender::new(2, Duration::from_secs(60)).answer("Slow down."))
            .initial("a")
            .state("a", says("handled"))
            .build()
            .expect("valid bot");
        let start = Instant::now();
        let say = |who: &'static str, after: u64| {
            let bot = &bot;
            async move {
                let cx = context(bot, None).with_now(start + Duration::from_secs(after));
                let event = from("hi", Member::new(who));
                let out = bot.dispatch(&cx, &event).await.expect("dispatched");
                out.reply
                    .out_message()
                    .map(OutMessage::body)
                    .map(str::to_owned)
            }
        };
        let handled = Some("handled".to_owned());
        assert_eq!(say("ann", 0).await, handled);
        assert_eq!(say("ann", 1).await, handled);
        assert_eq!(
            say("ann", 2).await.as_deref(),
            Some("Slow down."),
            "told once"
        );
        assert_eq!(say("ann", 3).await, None, "then quiet");
        assert_eq!(say("bob", 3).await, handled, "others are not held back");
        // The first of ann's passes leaves the window at 60 s, the second at 61 s.
        assert_eq!(say("ann", 60).await, handled);
        assert_eq!(
            say("ann", 60).await.as_deref(),
            Some("Slow down."),
            "told again"
        );
        assert_eq!(say("ann", 61).await, handled);
    }

    #[test]
    fn senders_with_nothing_in_the_window_are_forgotten() {
        let limit = RateLimitPerSender::new(1, Duration::from_secs(1));
        let start = Instant::now();
        for n in 0..TIDY_AT {
            assert!(matches!(
                limit.admit("c", &n.to_string(), start),
                Admission::Pass
            ));
        }
        let later = start + Duration::from_secs(2);
        assert!(matches!(limit.admit("c", "new", later), Admission::Pass));
        assert_eq!(limit.seen.lock().expect("lock").len(), 1);
    }
}
