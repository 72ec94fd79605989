//! Per-conversation turns: one event of a conversation at a time, in arrival order.
//!
//! A delivery takes its place in its conversation's line synchronously, when it arrives, and
//! then waits for the one before it to finish. The line is a chain of oneshot channels: each turn
//! holds a sender, its successor holds the matching receiver, and dropping the turn (finished,
//! failed or panicked) lets the successor go. Conversations with nobody in line take no memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use tokio::sync::oneshot;

/// The lines of every conversation.
#[derive(Debug, Default, Clone)]
pub(crate) struct Turns {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// For each conversation with someone in line: the last turn's id and the receiver that
    /// resolves when it ends.
    tails: DashMap<String, (u64, oneshot::Receiver<()>)>,
    next_id: AtomicU64,
}

/// A place in a conversation's line. Await [`Turn::ready`] before working; drop it when done.
#[derive(Debug)]
pub(crate) struct Turn {
    previous: Option<oneshot::Receiver<()>>,
    _done: oneshot::Sender<()>,
    key: String,
    id: u64,
    turns: Arc<Inner>,
}

impl Turns {
    /// Takes the next place in `key`'s line. Synchronous, so the order is the order of calls.
    pub(crate) fn enter(&self, key: String) -> Turn {
        let (done, finished) = oneshot::channel();
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let previous = self
            .inner
            .tails
            .insert(key.clone(), (id, finished))
            .map(|(_, receiver)| receiver);
        Turn {
            previous,
            _done: done,
            key,
            id,
            turns: self.inner.clone(),
        }
    }

    /// How many conversations have someone in line.
    #[cfg(test)]
    pub(crate) fn active(&self) -> usize {
        self.inner.tails.len()
    }
}

impl Turn {
    /// Waits until every earlier turn of the conversation has ended.
    pub(crate) async fn ready(&mut self) {
        if let Some(previous) = self.previous.take() {
            // Resolves with an error when the previous turn's sender is dropped: that is the end
            // of its turn, whichever way it ended.
            let _ = previous.await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Last in line: nobody will wait on this turn, so forget the conversation.
        self.turns
            .tails
            .remove_if(&self.key, |_, (id, _)| *id == self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn turns_of_one_conversation_run_in_arrival_order() {
        let turns = Turns::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        // Enter in order 0..10, but spawn in reverse so the scheduler would favour the last.
        let entered: Vec<_> = (0..10).map(|i| (i, turns.enter("room".into()))).collect();
        let mut tasks = Vec::new();
        for (i, mut turn) in entered.into_iter().rev() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                turn.ready().await;
                log.lock().expect("not poisoned").push(i);
                tokio::task::yield_now().await;
                drop(turn);
            }));
        }
        for task in tasks {
            task.await.expect("task ran");
        }
        assert_eq!(
            *log.lock().expect("not poisoned"),
            (0..10).collect::<Vec<_>>()
        );
        assert_eq!(turns.active(), 0, "finished lines are forgotten");
    }

    #[tokio::test]
    async fn other_conversations_do_not_wait() {
        let turns = Turns::default();
        let _busy = turns.enter("a".into());
        let mut other = turns.enter("b".into());
        // Completes at once although "a" is still held.
        other.ready().await;
        assert_eq!(turns.active(), 2);
    }

    #[tokio::test]
    async fn a_turn_dropped_without_running_lets_the_next_go() {
        let turns = Turns::default();
        let first = turns.enter("a".into());
        let mut second = turns.enter("a".into());
        drop(first);
        second.ready().await;
        drop(second);
        assert_eq!(turns.active(), 0);
    }
}
