//! A conversation's timer after each event: set anew when its state has a timeout (the event
//! reset the clock), removed when it left one. Both pipelines call it once the state is kept.

use std::sync::Arc;
use std::time::SystemTime;

use botwire_store::{ConversationKey, StoreError, Timer, Timers};

use crate::route::Route;

/// Whether [`reset`] has anything to do: only where a state involved has a timeout, or a
/// timeout fired. Checked first, so that a bot's other events pay for no bounded store call.
pub(crate) fn needed(route: &Route, from: &str, to: &str, fired: Option<u64>) -> bool {
    fired.is_some() || route.bot.timeout_of(from).is_some() || route.bot.timeout_of(to).is_some()
}

/// Sets or removes the conversation's timer once its state went from `from` to `to` (the same
/// when it stayed). `fired` is the generation of the timer whose timeout this was, if it was
/// one: removed only while it is still that one. No store call for states without timeouts.
pub(crate) async fn reset(
    timers: &Arc<dyn Timers>,
    route: &Route,
    conversation: &str,
    from: &str,
    to: &str,
    fired: Option<u64>,
) -> Result<(), StoreError> {
    let key = ConversationKey::new(&route.name, conversation);
    match route.bot.timeout_of(to) {
        Some(timeout) => {
            let timer = Timer {
                state: to.to_owned(),
                due_at: SystemTime::now() + timeout.after(),
                generation: fresh_generation(),
            };
            timers.set(&key, &timer).await
        }
        None if fired.is_some() || route.bot.timeout_of(from).is_some() => {
            timers.remove(&key, fired).await.map(drop)
        }
        None => Ok(()),
    }
}

/// A generation no other setting of any timer has had (random: instances do not share a
/// counter).
fn fresh_generation() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}
