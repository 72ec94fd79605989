//! Conversation tests: drive a [`Bot`] through a conversation as a transcript — a person says
//! something, the bot answers, the state moves, minutes pass — with no socket, no platform and
//! no store. Time is virtual: [`Transcript::passes`] moves it and fires the state timeouts that
//! fall due, in order, as a server's timers would.
//!
//! Each step returns a [`Turn`] whose checks panic with the transcript so far:
//!
//! ```
//! use std::time::Duration;
//! use botwire_core::{handler_fn, Bot, Reply, StateTimeout};
//! use botwire_testkit::transcript::Transcript;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bot = Bot::builder()
//!     .initial("idle")
//!     .state("idle", handler_fn(|_cx, event| async move {
//!         Ok(match event.text() {
//!             Some("quiz") => Reply::text("2 + 2?").goto("asking"),
//!             _ => Reply::none(),
//!         })
//!     }))
//!     .state("asking", handler_fn(|_cx, event| async move {
//!         Ok(match event.text() {
//!             Some("4") => Reply::text("Right!").goto("idle"),
//!             _ => Reply::text("Try again."),
//!         })
//!     }))
//!     .timeout("asking", StateTimeout::new(Duration::from_secs(60), "idle").saying("Time's up."))
//!     .build()?;
//!
//! let mut chat = Transcript::new(bot);
//! chat.says("quiz").await.answers("2 + 2?").moves_to("asking");
//! chat.says("5").await.answers("Try again.").stays();
//! chat.passes(Duration::from_secs(59)).await.answers_nothing();
//! chat.passes(Duration::from_secs(1)).await.answers("Time's up.").moves_to("idle");
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use botwire_core::{
    Bot, BoxError, Context, ContextParts, DispatchError, Dispatched, Event, EventKind,
    IntoStateName, Member, MemoryData, Message, MessageType, Messenger, OutMessage,
};

/// How long a handler is told it has, in virtual time.
const HANDLER_TIME: Duration = Duration::from_secs(5);

/// One conversation with a bot, step by step; see the [module docs](self).
pub struct Transcript {
    bot: Arc<Bot>,
    channel: Arc<str>,
    conversation: Arc<str>,
    data: Arc<MemoryData>,
    sent: Arc<Sent>,
    person: Member,
    state: Arc<str>,
    start: Instant,
    now: Instant,
    /// When the current state's timeout falls due, if it has one.
    due: Option<Instant>,
    deliveries: u64,
    log: String,
}

/// What one step of a [`Transcript`] did: what the bot said, where the state went, or how it
/// failed. Its checks panic with the transcript so far.
#[derive(Debug, Clone)]
#[must_use = "a turn is there to be checked"]
pub struct Turn {
    said: Vec<String>,
    before: Arc<str>,
    after: Arc<str>,
    error: Option<String>,
    log: String,
}

/// Messages the bot sent by itself ([`Context::send`]) during one step.
#[derive(Debug, Default)]
struct Sent {
    messages: Mutex<Vec<(String, String, String)>>,
}

#[async_trait]
impl Messenger for Sent {
    async fn send(
        &self,
        channel: &str,
        conversation: &str,
        message: OutMessage,
    ) -> Result<String, BoxError> {
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        messages.push((
            channel.to_owned(),
            conversation.to_owned(),
            message.body().to_owned(),
        ));
        Ok(format!("transcript-{}", messages.len()))
    }
}

impl Transcript {
    /// A conversation `room` on channel `transcript`, in the bot's initial state, with a
    /// person called Ann.
    pub fn new(bot: Bot) -> Self {
        Self::begin(
            Arc::new(bot),
            "transcript".into(),
            "room".into(),
            Arc::default(),
            Member::new("ann").with_name("Ann"),
            Instant::now(),
        )
    }

    /// Another conversation with the same bot and the same store (what the bot remembers is
    /// kept per conversation, as a server keeps it), starting in the initial state, now.
    pub fn elsewhere(&self, conversation: &str) -> Self {
        Self::begin(
            self.bot.clone(),
            self.channel.clone(),
            conversation.into(),
            self.data.clone(),
            self.person.clone(),
            self.now,
        )
    }

    /// A conversation that begins at `now` in the bot's initial state, with nothing said yet.
    fn begin(
        bot: Arc<Bot>,
        channel: Arc<str>,
        conversation: Arc<str>,
        data: Arc<MemoryData>,
        person: Member,
        now: Instant,
    ) -> Self {
        Self {
            state: bot.current_state(None),
            bot,
            channel,
            conversation,
            data,
            sent: Arc::default(),
            person,
            start: now,
            now,
            due: None,
            deliveries: 0,
            log: String::new(),
        }
    }

    /// The person who speaks from now on.
    #[must_use]
    pub fn person(mut self, person: Member) -> Self {
        self.person = person;
        self
    }

    /// The conversation's state now.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// How much virtual time has passed since the transcript began.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The transcript so far.
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The person says `text`.
    pub async fn says(&mut self, text: &str) -> Turn {
        let event = message(Message::text(text), self.person.clone());
        let line = format!("{}: {text}", self.person.name());
        self.deliver(line, event).await
    }

    /// The person posts a message of `kind` with `body` (a picture's URL, a file name, …).
    pub async fn posts(&mut self, kind: MessageType, body: &str) -> Turn {
        let line = format!("{} posts a {kind}: {body}", self.person.name());
        let event = message(Message::new(kind, body), self.person.clone());
        self.deliver(line, event).await
    }

    /// `name` joins the conversation.
    pub async fn joins(&mut self, name: &str) -> Turn {
        let member = Member::new(name.to_lowercase()).with_name(name);
        let event = Event::new(EventKind::MembersJoined(vec![member.clone()])).with_sender(member);
        self.deliver(format!("+ {name} joins"), event).await
    }

    /// `name` leaves the conversation.
    pub async fn leaves(&mut self, name: &str) -> Turn {
        let member = Member::new(name.to_lowercase()).with_name(name);
        let event = Event::new(EventKind::MembersLeft(vec![member.clone()])).with_sender(member);
        self.deliver(format!("- {name} leaves"), event).await
    }

    /// Any event, shown in the transcript as `line`.
    pub async fn sends(&mut self, line: &str, event: Event) -> Turn {
        self.deliver(line.to_owned(), event).await
    }

    /// `time` passes without an event: every state timeout that falls due fires, in order,
    /// each from the moment the one before it moved the conversation.
    pub async fn passes(&mut self, time: Duration) -> Turn {
        let until = self.now + time;
        let before = self.state.clone();
        let _ = writeln!(self.log, "  … {} pass", shown(time));
        let mut said = Vec::new();
        let mut error = None;
        while let Some(due) = self.due.filter(|due| *due <= until) {
            self.now = due;
            let silent_for = self.bot.timeout_of(&self.state).map(|t| t.after());
            let cx = self.context();
            match self.bot.time_out(&cx).await {
                Ok(Some(dispatched)) => {
                    let why = format!("(no event for {})", shown(silent_for.unwrap_or_default()));
                    said.extend(self.record(&why, dispatched));
                }
                Ok(None) => self.due = None,
                Err(failed) => {
                    error = Some(self.failed(&failed));
                    self.due = None;
                }
            }
        }
        self.now = until;
        self.turn(said, before, error)
    }

    /// Runs `event` through the bot as a delivery of this conversation.
    async fn deliver(&mut self, line: String, event: Event) -> Turn {
        let _ = writeln!(self.log, "  {line}");
        self.deliveries += 1;
        let before = self.state.clone();
        let cx = self.context();
        let (said, error) = match self.bot.dispatch(&cx, &event).await {
            Ok(dispatched) => (self.record("", dispatched), None),
            Err(failed) => (Vec::new(), Some(self.failed(&failed))),
        };
        self.turn(said, before, error)
    }

    /// The step that moved the conversation from `before` to where it is now.
    fn turn(&self, said: Vec<String>, before: Arc<str>, error: Option<String>) -> Turn {
        Turn {
            said,
            before,
            after: self.state.clone(),
            error,
            log: self.log.clone(),
        }
    }

    /// Writes what the bot said and where it went, moves the state, sets the next timer.
    fn record(&mut self, why: &str, dispatched: Dispatched) -> Vec<String> {
        let mut said: Vec<String> = dispatched
            .reply
            .out_message()
            .map(|message| message.body().to_owned())
            .into_iter()
            .collect();
        let moved = if dispatched.changed {
            format!("   [{} → {}]", self.state, dispatched.next_state)
        } else {
            String::new()
        };
        match said.first() {
            Some(text) => {
                let _ = writeln!(self.log, "  bot: {text}{moved}");
            }
            None => {
                let _ = writeln!(self.log, "  bot says nothing{moved}");
            }
        }
        if !why.is_empty() {
            let _ = writeln!(self.log, "       {why}");
        }
        let sent =
            std::mem::take(&mut *self.sent.messages.lock().unwrap_or_else(|e| e.into_inner()));
        for (channel, conversation, text) in sent {
            if *conversation == *self.conversation && *channel == *self.channel {
                let _ = writeln!(self.log, "  bot (sent): {text}");
                said.push(text);
            } else {
                let _ = writeln!(self.log, "  bot → {channel}/{conversation}: {text}");
            }
        }
        self.state = dispatched.next_state;
        self.due = self
            .bot
            .timeout_of(&self.state)
            .map(|timeout| self.now + timeout.after());
        said
    }

    fn failed(&mut self, error: &DispatchError) -> String {
        let text = error.to_string();
        let _ = writeln!(self.log, "  bot fails: {text}");
        text
    }

    fn context(&self) -> Context {
        Context::from_parts(ContextParts {
            platform: "transcript",
            channel: self.channel.clone(),
            conversation: self.conversation.clone(),
            delivery_id: format!("transcript-{}", self.deliveries).into(),
            state: self.state.clone(),
            deadline: self.now + HANDLER_TIME,
        })
        .with_now(self.now)
        .with_data(self.data.clone())
        .with_messenger(self.sent.clone())
    }
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript")
            .field("conversation", &self.conversation)
            .field("state", &self.state)
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}

impl Turn {
    /// What the bot said in this step: its reply, then what it sent by itself here.
    pub fn said(&self) -> &[String] {
        &self.said
    }

    /// The state after this step.
    pub fn state(&self) -> &str {
        &self.after
    }

    /// The bot said exactly `text` (and nothing else).
    #[track_caller]
    pub fn answers(&self, text: &str) -> &Self {
        if self.said != [text] {
            self.fail(&format!("expected the bot to answer {text:?}"));
        }
        self
    }

    /// The bot said one thing, and it contains `part`.
    #[track_caller]
    pub fn answers_containing(&self, part: &str) -> &Self {
        if !matches!(self.said.as_slice(), [one] if one.contains(part)) {
            self.fail(&format!("expected one answer containing {part:?}"));
        }
        self
    }

    /// The bot said nothing.
    #[track_caller]
    pub fn answers_nothing(&self) -> &Self {
        if !self.said.is_empty() {
            self.fail("expected the bot to say nothing");
        }
        self
    }

    /// The conversation moved to `state` in this step.
    #[track_caller]
    pub fn moves_to(&self, state: impl IntoStateName) -> &Self {
        let state = state.into_state_name();
        if *self.after != *state || self.after == self.before {
            self.fail(&format!(
                "expected a move from {:?} to {state:?}",
                &*self.before
            ));
        }
        self
    }

    /// The conversation stayed in its state.
    #[track_caller]
    pub fn stays(&self) -> &Self {
        if self.after != self.before {
            self.fail(&format!("expected it to stay in {:?}", &*self.before));
        }
        self
    }

    /// The step failed (the handler returned an error, or moved where it may not), and the
    /// error says `part`.
    #[track_caller]
    pub fn fails_with(&self, part: &str) -> &Self {
        if !self
            .error
            .as_deref()
            .is_some_and(|error| error.contains(part))
        {
            self.fail(&format!("expected the step to fail with {part:?}"));
        }
        self
    }

    #[track_caller]
    fn fail(&self, expected: &str) -> ! {
        let error = self
            .error
            .as_deref()
            .map(|error| format!(", failed: {error}"))
            .unwrap_or_default();
        panic!(
            "{expected}; it said {:?}, state {:?} → {:?}{error}\ntranscript so far:\n{}",
            self.said, &*self.before, &*self.after, self.log
        );
    }
}

fn message(message: Message, sender: Member) -> Event {
    Event::new(EventKind::Message(message)).with_sender(sender)
}

/// `5m`, `1h30m`, `45s`, `250ms`.
fn shown(time: Duration) -> String {
    let mut secs = time.as_secs();
    if secs == 0 {
        return format!("{}ms", time.as_millis());
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            let _ = write!(out, "{}{unit}", secs / size);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use botwire_core::{Reply, StateTimeout, handler_fn};

    fn quiz() -> Bot {
        Bot::builder()
            .initial("idle")
            .state(
                "idle",
                handler_fn(|cx, event| async move {
                    Ok(match event.text() {
                        Some("quiz") => Reply::text("2 + 2?").goto("asking"),
                        Some("remind me") => {
                            cx.send("Reminder set.").await?;
                            Reply::none()
                        }
                        Some("break") => Reply::none().goto("nowhere"),
                        _ => Reply::none(),
                    })
                }),
            )
            .state(
                "asking",
                handler_fn(|_cx, _event| async { Ok(Reply::text("Try again.")) }),
            )
            .state(
                "resting",
                handler_fn(|_cx, _event| async { Ok(Reply::none()) }),
            )
            .timeout(
                "asking",
                StateTimeout::new(Duration::from_secs(60), "resting").saying("Time's up."),
            )
            .timeout(
                "resting",
                StateTimeout::new(Duration::from_secs(30), "idle").saying("Ready again."),
            )
            .build()
            .expect("a valid bot")
    }

    #[tokio::test]
    async fn timeouts_fire_in_order_and_each_event_resets_the_clock() {
        let mut chat = Transcript::new(quiz());
        chat.says("quiz").await.answers("2 + 2?").moves_to("asking");
        chat.passes(Duration::from_secs(50))
            .await
            .answers_nothing()
            .stays();
        chat.says("5").await.answers("Try again.");
        chat.passes(Duration::from_secs(59)).await.answers_nothing();
        let both = chat.passes(Duration::from_secs(31)).await;
        assert_eq!(both.said(), ["Time's up.", "Ready again."]);
        assert_eq!(both.state(), "idle");
        assert_eq!(chat.elapsed(), Duration::from_secs(50 + 59 + 31));
        assert!(
            chat.log().contains("bot: Time's up.   [asking → resting]"),
            "{}",
            chat.log()
        );
    }

    #[tokio::test]
    async fn sends_and_failures_show_in_the_turn() {
        let mut chat = Transcript::new(quiz());
        chat.says("remind me")
            .await
            .answers("Reminder set.")
            .stays();
        chat.says("break").await.fails_with("nowhere").stays();
        assert!(chat.log().contains("bot fails:"), "{}", chat.log());
    }

    #[tokio::test]
    async fn a_failed_check_shows_the_transcript() {
        let mut chat = Transcript::new(quiz());
        let turn = chat.says("quiz").await;
        let shown = std::panic::catch_unwind(|| {
            turn.answers("3 + 3?");
        })
        .expect_err("the check fails");
        let message = shown.downcast_ref::<String>().expect("a message");
        assert!(
            message.contains(r#"expected the bot to answer "3 + 3?""#),
            "{message}"
        );
        assert!(
            message.contains("  Ann: quiz\n  bot: 2 + 2?   [idle → asking]"),
            "{message}"
        );
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(shown(Duration::from_secs(300)), "5m");
        assert_eq!(shown(Duration::from_secs(5_430)), "1h30m30s");
        assert_eq!(shown(Duration::from_millis(20)), "20ms");
    }
}
