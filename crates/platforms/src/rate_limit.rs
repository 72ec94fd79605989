//! Client-side rate limits, so that a bot stays under its platform's limits instead of
//! collecting 429s: at most N sends in any window of a given length, per token (the whole
//! channel) and per conversation. A send that would pass a limit is not a failure: it waits
//! in place when the wait is short, and otherwise comes back as
//! [`OutboxError::rate_limited`], which the worker waits out without counting an attempt.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{Outbox, OutboxError, Outgoing};

/// The longest wait served in place, holding the worker; a longer one hands the job back.
const WAIT_IN_PLACE: Duration = Duration::from_secs(1);
/// How many conversations' windows are kept before the idle ones are swept out.
const SWEEP_ABOVE: usize = 4096;

/// `count` sends in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many sends.
    pub count: u32,
    /// In how long a window.
    pub per: Duration,
}

/// Why a rate is not `N/DURATION` or `off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected N/DURATION (e.g. 300/5m, 10/10s) or off")]
pub struct InvalidRate;

impl Rate {
    /// `count` sends per `per`.
    pub fn new(count: u32, per: Duration) -> Self {
        Self { count, per }
    }

    /// Reads `N/DURATION` (`300/5m`, `10/10s`, `1000/1m`), or `off` for no limit (`None`).
    ///
    /// # Errors
    /// When it is neither, or N or the duration is zero.
    pub fn parse(text: &str) -> Result<Option<Self>, InvalidRate> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (count, per) = text.split_once('/').ok_or(InvalidRate)?;
        let count: u32 = count.trim().parse().map_err(|_| InvalidRate)?;
        let per = per.trim();
        // `10/s` reads as 10 a second.
        let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
            humantime::parse_duration(per)
        } else {
            humantime::parse_duration(&format!("1{per}"))
        }
        .map_err(|_| InvalidRate)?;
        if count == 0 || per.is_zero() {
            return Err(InvalidRate);
        }
        Ok(Some(Self { count, per }))
    }
}

impl FromStr for Rate {
    type Err = InvalidRate;

    fn from_str(text: &str) -> Result<Self, InvalidRate> {
        Self::parse(text)?.ok_or(InvalidRate)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

/// The limits of one channel's sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// For the whole channel (its API token or key).
    pub token: Option<Rate>,
    /// For each conversation.
    pub conversation: Option<Rate>,
}

impl RateLimits {
    /// No limit at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether neither limit is set.
    pub fn is_none(&self) -> bool {
        self.token.is_none() && self.conversation.is_none()
    }
}

/// The window this side keeps for `rate`: a little longer than the platform's, by a
/// twentieth (at most a second), so that sends the network delays unevenly still arrive
/// within the platform's count.
fn kept_window(rate: Rate) -> Duration {
    rate.per + (rate.per / 20).min(Duration::from_secs(1))
}

/// The times of the sends within one window, oldest first.
#[derive(Debug, Default)]
struct Log(VecDeque<Instant>);

impl Log {
    /// How long until one more send fits `rate` (zero: now).
    fn wait(&mut self, rate: Rate, now: Instant) -> Duration {
        let window = kept_window(rate);
        while self
            .0
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.0.pop_front();
        }
        if self.0.len() < rate.count as usize {
            return Duration::ZERO;
        }
        let oldest = self.0.front().copied().unwrap_or(now);
        window.saturating_sub(now.duration_since(oldest))
    }

    fn is_idle(&self, rate: Rate, now: Instant) -> bool {
        self.0
            .back()
            .is_none_or(|t| now.duration_since(*t) >= kept_window(rate))
    }
}

#[derive(Debug, Default)]
struct Windows {
    token: Log,
    conversations: HashMap<String, Log>,
    /// When idle conversations were last swept out.
    swept: Option<Instant>,
}

/// An outbox behind client-side [`RateLimits`].
pub struct RateLimited {
    inner: Arc<dyn Outbox>,
    limits: RateLimits,
    windows: Mutex<Windows>,
    on_wait: Option<Box<dyn Fn(Duration) + Send + Sync>>,
}

impl RateLimited {
    /// `inner`, kept within `limits`.
    pub fn new(inner: Arc<dyn Outbox>, limits: RateLimits) -> Self {
        Self {
            inner,
            limits,
            windows: Mutex::default(),
            on_wait: None,
        }
    }

    /// Calls `on_wait` once for each send that waits in place for a free slot, with how long
    /// (the server counts these). A longer wait is not waited here: it comes back as
    /// [`OutboxError::rate_limited`], which the caller sees.
    #[must_use]
    pub fn on_wait(mut self, on_wait: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.on_wait = Some(Box::new(on_wait));
        self
    }

    /// The limits it keeps.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Takes a slot in every window for a send to `conversation` now, or says how long until
    /// one is free in all of them.
    fn reserve(&self, conversation: &str, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let token_wait = self
            .limits
            .token
            .map_or(Duration::ZERO, |rate| windows.token.wait(rate, now));
        let conversation_wait = match self.limits.conversation {
            Some(rate) => windows
                .conversations
                .entry(conversation.to_owned())
                .or_default()
                .wait(rate, now),
            None => Duration::ZERO,
        };
        let wait = token_wait.max(conversation_wait);
        if !wait.is_zero() {
            return Err(wait);
        }
        if self.limits.token.is_some() {
            windows.token.0.push_back(now);
        }
        if let Some(rate) = self.limits.conversation {
            if let Some(log) = windows.conversations.get_mut(conversation) {
                log.0.push_back(now);
            }
            // At most once a window, so that many busy rooms do not sweep on every send.
            let due = windows
                .swept
                .is_none_or(|at| now.duration_since(at) >= rate.per);
            if windows.conversations.len() > SWEEP_ABOVE && due {
                windows
                    .conversations
                    .retain(|_, log| !log.is_idle(rate, now));
                windows.swept = Some(now);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Outbox for RateLimited {
    async fn send(&self, outgoing: &Outgoing) -> Result<(), OutboxError> {
        let mut waited = false;
        loop {
            match self.reserve(&outgoing.conversation, Instant::now()) {
                Ok(()) => break,
                Err(wait) if wait <= WAIT_IN_PLACE => {
                    if let (false, Some(on_wait)) = (waited, &self.on_wait) {
                        on_wait(wait);
                    }
                    waited = true;
                    tokio::time::sleep(wait).await;
                }
                Err(wait) => {
                    return Err(OutboxError::rate_limited(
                        "waiting for the channel's rate limit",
                        wait,
                    ));
                }
            }
        }
        self.inner.send(outgoing).await
    }

    fn delivers(&self) -> bool {
        self.inner.delivers()
    }

    fn speaks_first(&self) -> bool {
        self.inner.speaks_first()
    }
}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("inner", &self.inner)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_the_settings_write_them() {
        assert_eq!(
            Rate::parse("300/5m"),
            Ok(Some(Rate::new(300, Duration::from_secs(300))))
        );
        assert_eq!(
            Rate::parse(" 10/10s "),
            Ok(Some(Rate::new(10, Duration::from_secs(10))))
        );
        assert_eq!(
            Rate::parse("1000/min"),
            Ok(Some(Rate::new(1000, Duration::from_secs(60))))
        );
        assert_eq!(
            Rate::parse("5/250ms"),
            Ok(Some(Rate::new(5, Duration::from_millis(250))))
        );
        assert_eq!(Rate::parse("OFF"), Ok(None));
        for bad in ["", "300", "0/5m", "5/0s", "x/5m", "5/soon", "-1/5m"] {
            assert_eq!(Rate::parse(bad), Err(InvalidRate), "{bad}");
        }
        assert_eq!(
            Rate::new(300, Duration::from_secs(300)).to_string(),
            "300/5m"
        );
        assert!("off".parse::<Rate>().is_err());
    }

    #[test]
    fn a_window_holds_its_count_and_says_when_the_next_fits() {
        let limited = RateLimited::new(
            Arc::new(crate::LogOutbox),
            RateLimits {
                token: Some(Rate::new(3, Duration::from_secs(10))),
                conversation: Some(Rate::new(2, Duration::from_secs(1))),
            },
        );
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        assert_eq!(limited.reserve("a", t0), Ok(()));
        assert_eq!(limited.reserve("a", t0 + ms(100)), Ok(()));
        // The room's window (1 s, kept 1.05 s) is full until its first send is that old.
        assert_eq!(limited.reserve("a", t0 + ms(500)), Err(ms(550)));
        // Another room is free; then the token's window (10 s, kept 10.5 s) is full.
        assert_eq!(limited.reserve("b", t0 + ms(500)), Ok(()));
        assert_eq!(limited.reserve("c", t0 + ms(1000)), Err(ms(9500)));
        assert_eq!(limited.reserve("c", t0 + ms(10_500)), Ok(()));
        // A refused send took no slot.
        assert_eq!(limited.reserve("c", t0 + ms(10_600)), Ok(()));
    }

    #[test]
    fn idle_conversations_are_swept() {
        let limited = RateLimited::new(
            Arc::new(crate::LogOutbox),
            RateLimits {
                token: None,
                conversation: Some(Rate::new(1, Duration::from_secs(1))),
            },
        );
        let t0 = Instant::now();
        for n in 0..=SWEEP_ABOVE {
            assert_eq!(limited.reserve(&n.to_string(), t0), Ok(()));
        }
        let later = t0 + Duration::from_secs(3);
        assert_eq!(limited.reserve("new", later), Ok(()));
        let windows = limited.windows.lock().expect("lock");
        assert_eq!(windows.conversations.len(), 1);
        assert!(!limited.delivers());
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_comes_back_as_a_rate_limit_not_a_failure() {
        let limited = RateLimited::new(
            Arc::new(crate::LogOutbox),
            RateLimits {
                token: Some(Rate::new(1, Duration::from_secs(60))),
                conversation: Some(Rate::new(1, Duration::from_millis(500))),
            },
        );
        let outgoing =
            Outgoing::proactive("c", "p", "room", "msg_1", botwire_core::Reply::text("hi"));
        assert_eq!(limited.send(&outgoing).await, Ok(()));
        let error = limited.send(&outgoing).await.expect_err("limited");
        assert!(error.is_rate_limited());
        assert!(error.retry_after() > Some(Duration::from_secs(59)));
    }

    #[tokio::test]
    async fn each_send_that_waits_in_place_is_told_once() {
        let waits = Arc::new(Mutex::new(Vec::new()));
        let told = waits.clone();
        let limited = RateLimited::new(
            Arc::new(crate::LogOutbox),
            RateLimits {
                token: Some(Rate::new(2, Duration::from_secs(60))),
                conversation: Some(Rate::new(1, Duration::from_millis(20))),
            },
        )
        .on_wait(move |wait| told.lock().expect("lock").push(wait));
        let outgoing =
            Outgoing::proactive("c", "p", "room", "msg_1", botwire_core::Reply::text("hi"));
        assert_eq!(limited.send(&outgoing).await, Ok(()));
        // The room's window is full for a moment: the send waits in place, then goes.
        assert_eq!(limited.send(&outgoing).await, Ok(()));
        // The token's window is full for a minute: handed back, not waited, not told.
        let error = limited.send(&outgoing).await.expect_err("limited");
        assert!(error.is_rate_limited());
        let waits = waits.lock().expect("lock");
        assert_eq!(waits.len(), 1, "{waits:?}");
        assert!(waits[0] <= WAIT_IN_PLACE, "{waits:?}");
    }
}
