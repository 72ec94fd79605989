//! What the unit tests of the bot, its builder and its middleware share.

use std::time::{Duration, Instant};

use crate::handler_fn;
use crate::{Bot, Context, ContextParts, Event, EventKind, Handler, Member, Message, Reply};

/// A handler that answers `word`.
pub(crate) fn says(word: &'static str) -> impl Handler {
    handler_fn(move |_cx, _ev| async move { Ok(Reply::text(word)) })
}

/// A handler that moves to `state`, saying nothing.
pub(crate) fn goes_to(state: &'static str) -> impl Handler {
    handler_fn(move |_cx, _ev| async move { Ok(Reply::none().goto(state)) })
}

/// A context of `bot` in `state` (`None`: the initial state), in conversation `room`.
pub(crate) fn context(bot: &Bot, state: Option<&str>) -> Context {
    Context::from_parts(ContextParts {
        platform: "test",
        channel: "test".into(),
        conversation: "room".into(),
        delivery_id: "d1".into(),
        state: bot.current_state(state),
        deadline: Instant::now() + Duration::from_secs(5),
    })
}

/// A text message from a person.
pub(crate) fn text(word: &str) -> Event {
    from(word, Member::new("u1").with_name("Ann"))
}

/// A text message from `sender`.
pub(crate) fn from(word: &str, sender: Member) -> Event {
    Event::new(EventKind::Message(Message::text(word))).with_sender(sender)
}
