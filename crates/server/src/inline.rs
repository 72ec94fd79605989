//! Work that runs in place while its caller waits for it, and carries on in a tracked task of
//! its own if the caller stops waiting (the answer went out late, or the connection closed).
//! On the common path, where the work finishes in time, no task is spawned for it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio_util::task::TaskTracker;

/// A future that, when dropped unfinished, hands what is left of it to `tasks`.
pub(crate) struct Inline<F: Future<Output: Send + 'static> + Send + 'static> {
    work: Option<Pin<Box<F>>>,
    tasks: TaskTracker,
    left: LeftBehind,
}

/// Tells the work whether its caller stopped waiting for it: once set, what the work returns
/// reaches no one, so it must deliver its result another way (a late reply goes through the
/// platform's send API). It is set before the work carries on in its own task, so the work
/// sees it from there.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeftBehind(Arc<AtomicBool>);

impl LeftBehind {
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Inline<F> {
    /// `work`, which reads `left` to learn whether it was left behind.
    pub(crate) fn new(work: F, tasks: TaskTracker, left: LeftBehind) -> Self {
        Self {
            work: Some(Box::pin(work)),
            tasks,
            left,
        }
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Future for Inline<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let Some(work) = self.work.as_mut() else {
            // Polled after it finished: a bug in the caller, and nothing left to give.
            return Poll::Pending;
        };
        let output = std::task::ready!(work.as_mut().poll(cx));
        self.work = None;
        Poll::Ready(output)
    }
}

impl<F: Future<Output: Send + 'static> + Send + 'static> Drop for Inline<F> {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        self.left.0.store(true, Ordering::Release);
        // Without a runtime (it is shutting down and dropping its tasks) there is nowhere to
        // carry on: the work is dropped with it.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.tasks.spawn_on(
                async move {
                    drop(work.await);
                },
                &runtime,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;

    use super::*;

    #[tokio::test]
    async fn finished_in_place_it_spawns_nothing() {
        let tasks = TaskTracker::new();
        let left = LeftBehind::default();
        let output = Inline::new(async { 7 }, tasks.clone(), left.clone()).await;
        assert_eq!(output, 7);
        assert!(tasks.is_empty());
        assert!(!left.is_set());
    }

    #[tokio::test]
    async fn dropped_unfinished_it_carries_on_in_a_tracked_task() {
        let tasks = TaskTracker::new();
        let (go, wait) = oneshot::channel::<()>();
        let done = Arc::new(AtomicBool::new(false));
        let left = LeftBehind::default();
        let work = {
            let (done, left) = (done.clone(), left.clone());
            async move {
                let _ = wait.await;
                // It carries on knowing that no one waits for its output.
                done.store(left.is_set(), Ordering::SeqCst);
            }
        };
        let mut inline = Inline::new(work, tasks.clone(), left);
        // Polled once (it waits), then the caller gives up on it.
        assert!(futures_util::poll!(&mut inline).is_pending());
        drop(inline);
        assert_eq!(tasks.len(), 1);
        let _ = go.send(());
        tasks.close();
        tasks.wait().await;
        assert!(done.load(Ordering::SeqCst));
    }
}
