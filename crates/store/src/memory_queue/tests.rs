use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;

use super::*;

fn job(conversation: &str, n: u32) -> NewJob {
    NewJob::new(
        "ch",
        conversation,
        format!("{conversation}-{n}"),
        Bytes::from(n.to_string()),
    )
}

#[tokio::test]
async fn a_conversation_hands_out_one_job_at_a_time_in_order() {
    let queue = MemoryQueue::new(10, 10);
    queue.push(job("a", 1)).await.expect("room");
    queue.push(job("a", 2)).await.expect("room");
    queue.push(job("b", 1)).await.expect("room");

    let a1 = queue.take().await.expect("a job");
    assert_eq!(a1.delivery_id, "a-1");
    let b1 = queue.take().await.expect("a job");
    assert_eq!(b1.delivery_id, "b-1");
    // a-2 waits for a-1: nothing else is ready.
    assert!(queue.take().now_or_never().is_none());
    assert_eq!(
        queue.stats().await.expect("stats"),
        QueueStats {
            queued: 3,
            in_progress: 2,
            dead: 0,
            capacity: 10
        }
    );

    queue.finish(a1.id).await.expect("finish");
    let a2 = queue.take().await.expect("a job");
    assert_eq!(a2.delivery_id, "a-2");
    queue.finish(a2.id).await.expect("finish");
    queue.finish(b1.id).await.expect("finish");
    assert_eq!(queue.stats().await.expect("stats").queued, 0);
    assert_eq!(queue.lanes.lane_count(), 0, "empty lanes are dropped");
}

#[tokio::test(start_paused = true)]
async fn a_retried_job_keeps_its_place_and_backs_off() {
    let queue = MemoryQueue::new(10, 10);
    queue.push(job("a", 1)).await.expect("room");
    queue.push(job("a", 2)).await.expect("room");
    queue.push(job("b", 1)).await.expect("room");

    let mut a1 = queue.take().await.expect("a job");
    a1.attempts += 1;
    a1.progress = Some(Bytes::from_static(b"reply"));
    a1.last_error = Some("outbox down".into());
    queue
        .retry(a1, Duration::from_secs(10))
        .await
        .expect("retry");

    // During the backoff, b goes; a-2 does not overtake a-1.
    let b1 = queue.take().await.expect("a job");
    assert_eq!(b1.delivery_id, "b-1");
    queue.finish(b1.id).await.expect("finish");
    assert!(queue.take().now_or_never().is_none());

    // The paused clock jumps to the end of the backoff while take waits.
    let again = queue.take().await.expect("a job");
    assert_eq!(again.delivery_id, "a-1");
    assert_eq!(again.attempts, 1);
    assert_eq!(again.progress.as_deref(), Some(&b"reply"[..]));
    assert_eq!(again.last_error.as_deref(), Some("outbox down"));
    queue.finish(again.id).await.expect("finish");
    assert_eq!(queue.take().await.expect("a job").delivery_id, "a-2");
}

#[tokio::test]
async fn a_retry_without_backoff_is_ready_at_once() {
    let queue = MemoryQueue::new(10, 10);
    queue.push(job("a", 1)).await.expect("room");
    let a1 = queue.take().await.expect("a job");
    queue.retry(a1, Duration::ZERO).await.expect("retry");
    assert_eq!(queue.take().await.expect("a job").delivery_id, "a-1");
}

#[tokio::test]
async fn a_full_queue_refuses_until_a_job_finishes() {
    let queue = MemoryQueue::new(2, 10);
    queue.push(job("a", 1)).await.expect("room");
    queue.push(job("b", 1)).await.expect("room");
    let full = queue.push(job("c", 1)).await.unwrap_err();
    assert!(
        matches!(full, StoreError::QueueFull { capacity: 2 }),
        "{full}"
    );
    let a1 = queue.take().await.expect("a job");
    // Taken is not done: it still counts.
    assert!(queue.push(job("c", 1)).await.is_err());
    queue.finish(a1.id).await.expect("finish");
    queue.push(job("c", 1)).await.expect("room again");
}

#[tokio::test]
async fn buried_jobs_free_their_lane_and_replay_with_their_progress() {
    let queue = MemoryQueue::new(10, 10);
    queue.push(job("a", 1)).await.expect("room");
    queue.push(job("a", 2)).await.expect("room");
    let mut a1 = queue.take().await.expect("a job");
    a1.attempts = 5;
    a1.progress = Some(Bytes::from_static(b"reply"));
    queue
        .bury(a1.clone(), "outbox: 500 five times")
        .await
        .expect("bury");

    let a2 = queue.take().await.expect("the lane goes on");
    assert_eq!(a2.delivery_id, "a-2");
    queue.finish(a2.id).await.expect("finish");

    let dead = queue.dead_letters().await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "outbox: 500 five times");
    assert_eq!(dead[0].job.id, a1.id);

    assert!(!queue.replay(JobId(999)).await.expect("replay"));
    assert!(queue.replay(a1.id).await.expect("replay"));
    assert!(queue.dead_letters().await.expect("dead letters").is_empty());
    let replayed = queue.take().await.expect("a job");
    assert_eq!((replayed.id, replayed.attempts), (a1.id, 0));
    assert_eq!(replayed.progress.as_deref(), Some(&b"reply"[..]));
    // Replaying it twice finds nothing.
    assert!(!queue.replay(a1.id).await.expect("replay"));
}

#[tokio::test]
async fn a_full_queue_can_still_keep_a_delivery_as_a_dead_letter() {
    let queue = MemoryQueue::new(1, 2);
    queue.push(job("a", 1)).await.expect("room");
    let kept = queue
        .bury_new(job("b", 1), "queue_full")
        .await
        .expect("kept");
    let dead = queue.dead_letters().await.expect("dead letters");
    assert_eq!(dead[0].job.id, kept);
    assert_eq!(dead[0].job.delivery_id, "b-1");
    // Replay needs room.
    assert!(matches!(
        queue.replay(kept).await,
        Err(StoreError::QueueFull { .. })
    ));
    let a1 = queue.take().await.expect("a job");
    queue.finish(a1.id).await.expect("finish");
    assert!(queue.replay(kept).await.expect("room now"));

    // The dead-letter list drops its oldest past its bound.
    for n in 0..3 {
        queue.bury_new(job("c", n), "x").await.expect("kept");
    }
    let ids: Vec<_> = queue
        .dead_letters()
        .await
        .expect("dead letters")
        .iter()
        .map(|d| d.job.delivery_id.clone())
        .collect();
    assert_eq!(ids, ["c-1", "c-2"]);
}

#[tokio::test]
async fn a_dropped_take_takes_nothing() {
    let queue = MemoryQueue::new(10, 10);
    assert!(queue.take().now_or_never().is_none());
    queue.push(job("a", 1)).await.expect("room");
    assert_eq!(queue.take().await.expect("a job").delivery_id, "a-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_keep_every_conversation_in_order() {
    const CONVERSATIONS: u32 = 50;
    const PER_CONVERSATION: u32 = 20;
    let queue = Arc::new(MemoryQueue::new(10_000, 10));
    let seen: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let busy: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();

    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (queue, seen, busy, done) = (queue.clone(), seen.clone(), busy.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let job = queue.take().await.expect("a job");
                assert!(
                    busy.lock().expect("lock").insert(job.conversation.clone()),
                    "two jobs of {} at once",
                    job.conversation
                );
                tokio::task::yield_now().await;
                let n: u32 = std::str::from_utf8(&job.body)
                    .expect("utf8")
                    .parse()
                    .expect("n");
                seen.lock()
                    .expect("lock")
                    .entry(job.conversation.clone())
                    .or_default()
                    .push(n);
                busy.lock().expect("lock").remove(&job.conversation);
                queue.finish(job.id).await.expect("finish");
                done.send(()).expect("the test listens");
            }
        }));
    }
    for n in 0..PER_CONVERSATION {
        for c in 0..CONVERSATIONS {
            queue.push(job(&format!("c{c}"), n)).await.expect("room");
        }
    }
    // The timeout only guards against a hang if a worker's assertion fails.
    let all_done = async {
        for _ in 0..CONVERSATIONS * PER_CONVERSATION {
            finished.recv().await.expect("a worker finished a job");
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all_done)
        .await
        .expect("every job is finished");
    for worker in workers {
        worker.abort();
    }
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), CONVERSATIONS as usize);
    for (conversation, order) in seen.iter() {
        assert_eq!(
            *order,
            (0..PER_CONVERSATION).collect::<Vec<_>>(),
            "{conversation}"
        );
    }
}

#[tokio::test]
async fn pending_lists_waiting_jobs_in_acceptance_order_not_taken_ones() {
    let queue = MemoryQueue::new(10, 10);
    for (conversation, n) in [("a", 1), ("b", 1), ("a", 2), ("c", 1)] {
        queue.push(job(conversation, n)).await.expect("room");
    }
    let taken = queue.take().await.expect("a job");
    assert_eq!(taken.delivery_id, "a-1");
    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|j| j.delivery_id).collect::<Vec<_>>();
    assert_eq!(
        ids(queue.pending().await.expect("pending")),
        ["b-1", "a-2", "c-1"]
    );
    // Put back for a retry, it is waiting again, and still first.
    queue
        .retry(taken, Duration::from_secs(60))
        .await
        .expect("retried");
    assert_eq!(
        ids(queue.pending().await.expect("pending")),
        ["a-1", "b-1", "a-2", "c-1"]
    );
}

#[tokio::test]
async fn forgotten_jobs_are_no_longer_handed_out() {
    let queue = MemoryQueue::new(10, 10);
    for (conversation, n) in [("a", 1), ("a", 2), ("b", 1), ("c", 1)] {
        queue.push(job(conversation, n)).await.expect("room");
    }
    let a1 = queue.take().await.expect("a job");
    assert_eq!(a1.delivery_id, "a-1");
    // a-1 is held by a worker: only the waiting a-2 and b-1 go.
    assert_eq!(queue.forget(|job| job.conversation != "c"), 2);
    assert_eq!(queue.stats().await.expect("stats").queued, 2);
    assert_eq!(queue.take().await.expect("a job").delivery_id, "c-1");
    queue.finish(a1.id).await.expect("finish");
    assert!(
        queue.take().now_or_never().is_none(),
        "a-2 and b-1 are gone"
    );
}
