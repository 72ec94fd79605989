//! One conformance suite for every storage backend: a backend is done when it passes the same
//! cases as the others. Each function runs its cases against fresh instances from `fresh`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use botwire_core::MemoryData;
//! use botwire_store::{MemoryLedger, MemoryQueue, MemoryStateStore};
//! use botwire_testkit::conformance;
//!
//! conformance::ledger(MemoryLedger::default).await;
//! conformance::state_store(MemoryStateStore::default).await;
//! conformance::conversation_data(MemoryData::default).await;
//! conformance::queue(|capacity| MemoryQueue::new(capacity, 100)).await;
//! conformance::timers(botwire_store::MemoryTimers::default).await;
//! # }
//! ```
//!
//! The cases need no paused clock: leases and TTLs of zero have run out as soon as they are
//! set, and an hour has not.
//!
//! # Panics
//! On the first case a backend fails, naming it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use botwire_core::ConversationData;
use botwire_store::{
    CachedResponse, Claim, ClaimToken, ConversationKey, DeliveryKey, DueTimer, JobId, KEPT_FULL,
    Kept, Ledger, NewJob, Queue, StateStore, StoreError, Timer, Timers, Versioned, Waited,
};
use bytes::Bytes;
use futures_util::FutureExt;

const LEASE: Duration = Duration::from_secs(3600);
const HOUR: Duration = Duration::from_secs(3600);

fn key(id: &str) -> DeliveryKey<'_> {
    DeliveryKey::new("ch", id)
}

fn response(body: &'static str) -> CachedResponse {
    CachedResponse::new(200, Bytes::from_static(body.as_bytes()))
}

async fn claim_new<L: Ledger>(ledger: &L, id: &str, lease: Duration) -> ClaimToken {
    match ledger.claim(&key(id), lease).await {
        Ok(Claim::New(token)) => token,
        other => panic!("ledger: expected a new claim of {id}, got {other:?}"),
    }
}

async fn claim<L: Ledger>(ledger: &L, id: &str) -> Claim {
    ledger.claim(&key(id), LEASE).await.expect("ledger: claim")
}

/// The ledger's contract: claims, cached answers byte for byte, release, leases, TTL and
/// purging, waiters, and one winner among concurrent claims.
pub async fn ledger<L: Ledger, F: Fn() -> L>(fresh: F) {
    // A duplicate sees the claim in flight, then the first answer byte for byte.
    let ledger = fresh();
    let token = claim_new(&ledger, "a", LEASE).await;
    assert_eq!(
        claim(&ledger, "a").await,
        Claim::InFlight,
        "ledger: in flight"
    );
    ledger
        .complete(&key("a"), token, response(r#"{"ok":true}"#), HOUR)
        .await
        .expect("ledger: complete");
    assert_eq!(
        claim(&ledger, "a").await,
        Claim::Done(response(r#"{"ok":true}"#)),
        "ledger: the cached answer, byte for byte"
    );
    assert!(
        matches!(
            ledger.claim(&DeliveryKey::new("other", "a"), LEASE).await,
            Ok(Claim::New(_))
        ),
        "ledger: channels do not share ids"
    );

    // Release lets the retry run; a token that holds nothing is refused.
    let ledger = fresh();
    let token = claim_new(&ledger, "a", LEASE).await;
    ledger
        .release(&key("a"), token)
        .await
        .expect("ledger: release");
    let again = claim_new(&ledger, "a", LEASE).await;
    assert_ne!(token, again, "ledger: a new claim has a new token");
    assert!(matches!(
        ledger.release(&key("a"), token).await,
        Err(StoreError::ClaimLost)
    ));
    assert!(matches!(
        ledger.complete(&key("a"), token, response("x"), HOUR).await,
        Err(StoreError::ClaimLost)
    ));
    assert!(matches!(
        ledger
            .complete(&key("none"), token, response("x"), HOUR)
            .await,
        Err(StoreError::ClaimLost)
    ));

    // A claim whose lease ran out is taken over; the old holder can no longer complete.
    let ledger = fresh();
    let lapsed = claim_new(&ledger, "a", Duration::ZERO).await;
    let taker = claim_new(&ledger, "a", LEASE).await;
    assert!(matches!(
        ledger
            .complete(&key("a"), lapsed, response("late"), HOUR)
            .await,
        Err(StoreError::ClaimLost)
    ));
    ledger
        .complete(&key("a"), taker, response("r"), HOUR)
        .await
        .expect("ledger: the new holder completes");

    // Answers expire with their TTL, and purging drops the expired ones only.
    let ledger = fresh();
    for id in ["old1", "old2"] {
        let token = claim_new(&ledger, id, LEASE).await;
        ledger
            .complete(&key(id), token, response("r"), Duration::ZERO)
            .await
            .expect("ledger: complete");
    }
    let token = claim_new(&ledger, "fresh", LEASE).await;
    ledger
        .complete(&key("fresh"), token, response("r"), HOUR)
        .await
        .expect("ledger: complete");
    let _busy = claim_new(&ledger, "busy", LEASE).await;
    // A backend whose storage expires entries by itself may purge nothing.
    let purged = ledger.purge_expired().await.expect("ledger: purge");
    assert!(
        purged <= 2,
        "ledger: purged {purged}, but only two had expired"
    );
    assert!(matches!(claim(&ledger, "fresh").await, Claim::Done(_)));
    assert_eq!(claim(&ledger, "busy").await, Claim::InFlight);
    assert!(
        matches!(claim(&ledger, "old1").await, Claim::New(_)),
        "ledger: expired is new"
    );

    // Waiters hear a completion, a release, or time out.
    let ledger = Arc::new(fresh());
    let token = claim_new(&*ledger, "a", LEASE).await;
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.wait(&key("a"), HOUR).await })
        })
        .collect();
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    ledger
        .complete(&key("a"), token, response("r"), HOUR)
        .await
        .expect("ledger: complete");
    for waiter in waiters {
        assert_eq!(
            waiter
                .await
                .expect("ledger: a waiter")
                .expect("ledger: wait"),
            Waited::Done(response("r"))
        );
    }
    let token = claim_new(&*ledger, "b", LEASE).await;
    let waiter = {
        let ledger = ledger.clone();
        tokio::spawn(async move { ledger.wait(&key("b"), HOUR).await })
    };
    tokio::task::yield_now().await;
    ledger
        .release(&key("b"), token)
        .await
        .expect("ledger: release");
    assert_eq!(
        waiter.await.expect("a waiter").expect("wait"),
        Waited::Released
    );
    let _c = claim_new(&*ledger, "c", LEASE).await;
    assert_eq!(
        ledger
            .wait(&key("c"), Duration::from_millis(10))
            .await
            .expect("wait"),
        Waited::TimedOut
    );
    assert_eq!(
        ledger.wait(&key("never"), HOUR).await.expect("wait"),
        Waited::Released,
        "ledger: nothing to wait for"
    );

    // Of many concurrent claims, exactly one is new.
    let ledger = Arc::new(fresh());
    let claims: Vec<_> = (0..64)
        .map(|_| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.claim(&key("race"), LEASE).await })
        })
        .collect();
    let mut new = 0;
    for claim in claims {
        if matches!(claim.await.expect("a claim"), Ok(Claim::New(_))) {
            new += 1;
        }
    }
    assert_eq!(new, 1, "ledger: one winner");
    ledger.ping().await.expect("ledger: ping");
}

/// The state store's contract: versions, compare-and-swap, isolation between conversations,
/// and one winner among concurrent first saves.
pub async fn state_store<S: StateStore, F: Fn() -> S>(fresh: F) {
    let states = fresh();
    let room = ConversationKey::new("ch", "room");
    assert_eq!(states.load(&room).await.expect("states: load"), None);
    assert_eq!(
        states
            .save(&room, "teaching", None)
            .await
            .expect("states: save"),
        1
    );
    assert!(matches!(
        states.save(&room, "idle", None).await,
        Err(StoreError::Conflict {
            expected: None,
            actual: Some(1)
        })
    ));
    assert!(matches!(
        states.save(&room, "idle", Some(7)).await,
        Err(StoreError::Conflict {
            expected: Some(7),
            actual: Some(1)
        })
    ));
    assert_eq!(
        states
            .save(&room, "idle", Some(1))
            .await
            .expect("states: cas"),
        2
    );
    assert_eq!(
        states.load(&room).await.expect("states: load"),
        Some(Versioned {
            state: "idle".into(),
            version: 2
        })
    );
    assert_eq!(
        states
            .load(&ConversationKey::new("other", "room"))
            .await
            .expect("states: load"),
        None,
        "states: channels do not share conversations"
    );
    states.ping().await.expect("states: ping");

    let states = Arc::new(fresh());
    let racers: Vec<_> = (0..32)
        .map(|i| {
            let states = states.clone();
            tokio::spawn(async move {
                states
                    .save(&ConversationKey::new("ch", "race"), &format!("s{i}"), None)
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.expect("a racer") {
            Ok(1) => won += 1,
            Err(StoreError::Conflict { .. }) => {}
            other => panic!("states: unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1, "states: one winner");
}

/// The timers' contract: one timer per conversation, replaced by `set`, listed when due and
/// unclaimed (earliest first, at most `limit`), claimed by one caller at a time and again once
/// the claim runs out, removed only while it is the generation named; whole milliseconds
/// survive.
pub async fn timers<T: Timers, F: Fn() -> T>(fresh: F) {
    let timers = fresh();
    // Whole milliseconds: backends keep no finer time.
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_millis(1_800_000_000_000);
    let at = move |secs: u64| t0 + Duration::from_secs(secs);
    let timer = |state: &str, due: u64, generation: u64| Timer {
        state: state.to_owned(),
        due_at: at(due),
        generation,
    };
    let room = ConversationKey::new("ch", "room");
    let other = ConversationKey::new("ch", "other");
    let elsewhere = ConversationKey::new("ch2", "room");
    assert_eq!(timers.get(&room).await.expect("timers: get"), None);
    timers
        .set(&room, &timer("teaching", 60, 1))
        .await
        .expect("timers: set");
    timers
        .set(&other, &timer("asking", 30, 7))
        .await
        .expect("timers: set");
    timers
        .set(&elsewhere, &timer("quiz", 90, 3))
        .await
        .expect("timers: set");
    assert_eq!(
        timers.get(&room).await.expect("timers: get"),
        Some(timer("teaching", 60, 1))
    );

    let due = |now: u64, limit: usize| {
        let timers = &timers;
        async move { timers.due(at(now), limit).await.expect("timers: due") }
    };
    assert_eq!(due(29, 10).await, [], "timers: nothing due yet");
    assert_eq!(
        due(60, 10).await,
        [
            DueTimer::new("ch", "other", timer("asking", 30, 7)),
            DueTimer::new("ch", "room", timer("teaching", 60, 1)),
        ],
        "timers: due ones, earliest first"
    );
    assert_eq!(due(600, 1).await.len(), 1, "timers: at most the limit");

    // An event resets the clock: the timer is replaced under a new generation.
    timers
        .set(&room, &timer("teaching", 120, 2))
        .await
        .expect("timers: set");
    assert_eq!(
        due(60, 10).await,
        [DueTimer::new("ch", "other", timer("asking", 30, 7))],
        "timers: the replaced one is gone from the due list"
    );

    // One claim at a time; another once it runs out; never of another generation.
    let claim = |key: ConversationKey<'static>, generation: u64, now: u64, until: u64| {
        let timers = &timers;
        async move {
            timers
                .claim(&key, generation, at(now), at(until))
                .await
                .expect("timers: claim")
        }
    };
    assert!(
        !claim(ConversationKey::new("ch", "room"), 1, 130, 140).await,
        "timers: old generation"
    );
    assert!(claim(ConversationKey::new("ch", "room"), 2, 130, 140).await);
    assert!(
        !claim(ConversationKey::new("ch", "room"), 2, 131, 150).await,
        "timers: held"
    );
    assert_eq!(
        due(135, 10).await.len(),
        2,
        "timers: claimed ones are not due"
    );
    assert!(
        due(135, 10)
            .await
            .iter()
            .all(|d| d.conversation != "room" || d.channel != "ch"),
        "timers: claimed ones are not listed"
    );
    assert!(
        due(140, 10)
            .await
            .iter()
            .any(|d| d.key() == ConversationKey::new("ch", "room")),
        "timers: a claim that ran out frees it"
    );
    assert!(
        claim(ConversationKey::new("ch", "room"), 2, 140, 200).await,
        "timers: claimed again"
    );
    assert!(
        !claim(ConversationKey::new("ch", "none"), 1, 0, 10).await,
        "timers: no timer"
    );
    // Setting it anew drops the claim.
    timers
        .set(&room, &timer("teaching", 150, 3))
        .await
        .expect("timers: set");
    assert!(claim(ConversationKey::new("ch", "room"), 3, 150, 160).await);

    assert!(
        !timers.remove(&room, Some(2)).await.expect("timers: remove"),
        "timers: only the generation named"
    );
    assert!(timers.remove(&room, Some(3)).await.expect("timers: remove"));
    assert_eq!(timers.get(&room).await.expect("timers: get"), None);
    assert!(!timers.remove(&room, None).await.expect("timers: remove"));
    assert!(
        timers.remove(&other, None).await.expect("timers: remove"),
        "timers: any generation"
    );
    assert_eq!(
        due(10_000, 10).await,
        [DueTimer::new("ch2", "room", timer("quiz", 90, 3))],
        "timers: channels do not share conversations"
    );

    // One winner among concurrent claims.
    let timers = Arc::new(fresh());
    let race = ConversationKey::new("ch", "race");
    timers
        .set(&race, &timer("s", 0, 9))
        .await
        .expect("timers: set");
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let timers = timers.clone();
            tokio::spawn(async move {
                timers
                    .claim(&ConversationKey::new("ch", "race"), 9, at(1), at(100))
                    .await
                    .expect("timers: claim")
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.expect("a racer"));
    }
    assert_eq!(won, 1, "timers: one winner");
}

/// Conversation data's contract: values scoped by channel and conversation, overwritten by a
/// later `set`, and listed one conversation at a time in key order.
pub async fn conversation_data<D: ConversationData, F: Fn() -> D>(fresh: F) {
    let data = fresh();
    assert_eq!(data.get("ch", "room", "k").await.expect("data: get"), None);
    assert!(
        data.entries("ch", "room")
            .await
            .expect("data: entries")
            .is_empty()
    );
    data.set("ch", "room", "k", "v").await.expect("data: set");
    data.set("ch", "room", "k", "w").await.expect("data: set");
    data.set("ch", "room", "answer:ping", "pong <b>")
        .await
        .expect("data: set");
    for (channel, conversation) in [("ch", "room2"), ("ch", "roo"), ("other", "room")] {
        data.set(channel, conversation, "k", "elsewhere")
            .await
            .expect("data: set");
    }
    assert_eq!(
        data.get("ch", "room", "k")
            .await
            .expect("data: get")
            .as_deref(),
        Some("w"),
        "data: the later set wins"
    );
    assert_eq!(
        data.get("other", "room", "answer:ping")
            .await
            .expect("data: get"),
        None,
        "data: channels do not share conversations"
    );
    assert_eq!(
        data.entries("ch", "room").await.expect("data: entries"),
        [
            ("answer:ping".to_owned(), "pong <b>".to_owned()),
            ("k".to_owned(), "w".to_owned())
        ],
        "data: one conversation's entries, in key order"
    );
}

fn job(conversation: &str, n: u32) -> NewJob {
    NewJob::new(
        "ch",
        conversation,
        format!("{conversation}-{n}"),
        Bytes::from(format!("body {n}")),
    )
}

async fn take_id<Q: Queue>(queue: &Q) -> String {
    queue.take().await.expect("queue: take").delivery_id
}

/// The queue's contract: lanes in order, retries keeping their place, capacity, dead letters
/// and replay, what is pending, and order under concurrent workers. `fresh(capacity)` gives an
/// empty queue of that capacity.
pub async fn queue<Q: Queue, F: Fn(usize) -> Q>(fresh: F) {
    // One job per conversation at a time, in order; others go meanwhile.
    let queue = fresh(10);
    assert_eq!(
        queue.oldest().await.expect("queue: oldest"),
        None,
        "queue: none waits"
    );
    for (conversation, n) in [("a", 1), ("a", 2), ("b", 1)] {
        queue.push(job(conversation, n)).await.expect("queue: push");
    }
    let a1 = queue.take().await.expect("queue: take");
    assert_eq!(a1.delivery_id, "a-1");
    assert_eq!(a1.body, "body 1");
    let b1 = queue.take().await.expect("queue: take");
    assert_eq!(b1.delivery_id, "b-1");
    assert!(
        queue.take().now_or_never().is_none(),
        "queue: a-2 waits for a-1"
    );
    let stats = queue.stats().await.expect("queue: stats");
    assert_eq!((stats.queued, stats.in_progress), (3, 2));
    let pending: Vec<String> = queue
        .pending()
        .await
        .expect("queue: pending")
        .into_iter()
        .map(|j| j.delivery_id)
        .collect();
    assert_eq!(pending, ["a-2"], "queue: pending lists waiting jobs only");
    let waiting = queue.pending().await.expect("queue: pending");
    assert_eq!(
        queue.oldest().await.expect("queue: oldest"),
        waiting.first().map(|j| j.accepted_at),
        "queue: the oldest is when the first waiting job was accepted"
    );
    queue.finish(a1.id).await.expect("queue: finish");
    assert_eq!(take_id(&queue).await, "a-2");

    // A retried job keeps its place: during its backoff its lane waits, others go.
    let queue = fresh(10);
    for (conversation, n) in [("a", 1), ("a", 2), ("b", 1)] {
        queue.push(job(conversation, n)).await.expect("queue: push");
    }
    let mut a1 = queue.take().await.expect("queue: take");
    a1.attempts = 1;
    a1.progress = Some(Bytes::from_static(b"reply"));
    a1.last_error = Some("outbox down".into());
    queue.retry(a1, HOUR).await.expect("queue: retry");
    assert_eq!(take_id(&queue).await, "b-1");
    assert!(
        queue.take().now_or_never().is_none(),
        "queue: a-2 does not overtake a-1"
    );
    let queue = fresh(10);
    queue.push(job("a", 1)).await.expect("queue: push");
    queue.push(job("a", 2)).await.expect("queue: push");
    let mut a1 = queue.take().await.expect("queue: take");
    a1.attempts = 1;
    a1.progress = Some(Bytes::from_static(b"reply"));
    queue.retry(a1, Duration::ZERO).await.expect("queue: retry");
    let again = queue.take().await.expect("queue: take");
    assert_eq!((again.delivery_id.as_str(), again.attempts), ("a-1", 1));
    assert_eq!(again.progress.as_deref(), Some(&b"reply"[..]));

    // A full queue refuses until a job finishes; a taken job still counts.
    let queue = fresh(2);
    queue.push(job("a", 1)).await.expect("queue: push");
    queue.push(job("b", 1)).await.expect("queue: push");
    assert!(matches!(
        queue.push(job("c", 1)).await,
        Err(StoreError::QueueFull { capacity: 2 })
    ));
    let a1 = queue.take().await.expect("queue: take");
    assert!(queue.push(job("c", 1)).await.is_err());
    queue.finish(a1.id).await.expect("queue: finish");
    queue.push(job("c", 1)).await.expect("queue: room again");

    // Past the capacity, a kept job (a sender that never resends) is queued in its lane's
    // order, or, where the store can hold no more, kept as a dead letter; never refused.
    let queue = fresh(1);
    queue.push(job("k", 1)).await.expect("queue: push");
    assert!(queue.push(job("k", 2)).await.is_err());
    match queue
        .push_kept(job("k", 2))
        .await
        .expect("queue: push_kept")
    {
        Kept::Queued(_) => {
            let first = queue.take().await.expect("queue: take");
            assert_eq!(first.delivery_id, "k-1");
            queue.finish(first.id).await.expect("queue: finish");
            assert_eq!(take_id(&queue).await, "k-2", "after its lane's earlier job");
        }
        Kept::Buried(id) => {
            let dead = queue.dead_letters().await.expect("queue: dead letters");
            assert!(dead.iter().any(|d| d.job.id == id && d.reason == KEPT_FULL));
        }
    }

    // Buried jobs free their lane, are listed, and replay with their progress.
    let queue = fresh(10);
    queue.push(job("a", 1)).await.expect("queue: push");
    queue.push(job("a", 2)).await.expect("queue: push");
    let mut a1 = queue.take().await.expect("queue: take");
    a1.attempts = 5;
    a1.progress = Some(Bytes::from_static(b"reply"));
    queue
        .bury(a1.clone(), "outbox: 500")
        .await
        .expect("queue: bury");
    let a2 = queue.take().await.expect("queue: the lane goes on");
    assert_eq!(a2.delivery_id, "a-2");
    queue.finish(a2.id).await.expect("queue: finish");
    let kept = queue
        .bury_new(job("z", 1), "queue_full")
        .await
        .expect("queue: bury_new");
    let dead: Vec<(JobId, String)> = queue
        .dead_letters()
        .await
        .expect("queue: dead letters")
        .into_iter()
        .map(|d| (d.job.id, d.reason))
        .collect();
    assert_eq!(
        dead,
        [
            (a1.id, "outbox: 500".to_owned()),
            (kept, "queue_full".to_owned())
        ]
    );
    assert_eq!(queue.stats().await.expect("queue: stats").dead, 2);
    assert!(!queue.replay(JobId(u64::MAX)).await.expect("queue: replay"));
    assert!(queue.replay(a1.id).await.expect("queue: replay"));
    // (A backend may give the replayed job a new id: a stream only grows.)
    let replayed = queue.take().await.expect("queue: take");
    assert_eq!(
        (replayed.delivery_id.as_str(), replayed.attempts),
        ("a-1", 0)
    );
    assert_eq!(replayed.progress.as_deref(), Some(&b"reply"[..]));
    assert!(
        !queue.replay(a1.id).await.expect("queue: replay"),
        "queue: replayed once"
    );

    // Under concurrent workers every conversation stays in order, one job at a time.
    let queue = Arc::new(fresh(10_000));
    for n in 0..10 {
        for c in 0..20 {
            queue
                .push(job(&format!("c{c}"), n))
                .await
                .expect("queue: push");
        }
    }
    let lanes = Lanes::default();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (queue, lanes) = (queue.clone(), lanes.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    lanes.work_one(&*queue).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("queue: a worker");
    }
    for c in 0..20 {
        let conversation = format!("c{c}");
        let expected: Vec<String> = (0..10).map(|n| format!("{conversation}-{n}")).collect();
        assert_eq!(
            lanes.order(&conversation),
            expected,
            "queue: order in {conversation}"
        );
    }
}

/// Workers' view of a queue's lanes, shared by every worker of a test: each job taken is
/// checked to be the only one of its conversation being worked on, and recorded in the order
/// it was taken.
#[derive(Debug, Clone, Default)]
pub struct Lanes {
    busy: Arc<Mutex<HashSet<String>>>,
    seen: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Lanes {
    /// Takes a job from `queue`, works it (yielding once, so other workers run meanwhile) and
    /// finishes it.
    ///
    /// # Panics
    /// When another job of its conversation is being worked on, or the queue fails.
    pub async fn work_one<Q: Queue + ?Sized>(&self, queue: &Q) {
        let job = queue.take().await.expect("queue: take");
        assert!(
            self.busy
                .lock()
                .expect("lock")
                .insert(job.conversation.clone()),
            "queue: two jobs of {} at once",
            job.conversation
        );
        tokio::task::yield_now().await;
        self.seen
            .lock()
            .expect("lock")
            .entry(job.conversation.clone())
            .or_default()
            .push(job.delivery_id.clone());
        self.busy.lock().expect("lock").remove(&job.conversation);
        queue.finish(job.id).await.expect("queue: finish");
    }

    /// The delivery ids of `conversation`'s jobs, in the order they were taken.
    pub fn order(&self, conversation: &str) -> Vec<String> {
        self.seen
            .lock()
            .expect("lock")
            .get(conversation)
            .cloned()
            .unwrap_or_default()
    }
}
