//! `IgnoreBots`: messages from a bot get no answer, so two bots never talk to each other
//! forever.

use async_trait::async_trait;

use super::{Middleware, Next};
use crate::{BoxError, Context, Event, Reply};

/// Drops every message whose sender the platform marks as a bot (FUNTEK's `isRobot`, Kamigo's
/// and others' flags); passes on the rest: people's messages, messages without a sender, and
/// other events (members a bot added are still welcome).
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoreBots;

#[async_trait]
impl Middleware for IgnoreBots {
    async fn handle(&self, cx: &Context, event: &Event, next: Next) -> Result<Reply, BoxError> {
        if event.message().is_some() && event.sender().is_some_and(|sender| sender.is_bot) {
            return Ok(Reply::none());
        }
        next.run(cx, event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{context, from, says, text};
    use crate::{Bot, EventKind, Member};

    #[tokio::test]
    async fn a_bots_event_gets_nothing_and_a_persons_is_handled() {
        let bot = Bot::builder()
            .middleware(IgnoreBots)
            .initial("a")
            .state("a", says("handled"))
            .build()
            .expect("valid bot");
        let cx = context(&bot, None);
        let robot = from("hi", Member::new("b1").with_bot(true));
        let dropped = bot.dispatch(&cx, &robot).await.expect("dispatched");
        assert!(dropped.reply.out_message().is_none());
        let added_by_a_bot = Event::new(EventKind::MembersJoined(vec![Member::new("u2")]))
            .with_sender(Member::new("b1").with_bot(true));
        for event in [
            text("hi"),
            Event::new(EventKind::Other("ping".into())),
            added_by_a_bot,
        ] {
            let handled = bot.dispatch(&cx, &event).await.expect("dispatched");
            assert!(handled.reply.out_message().is_some(), "{event:?}");
        }
    }
}
