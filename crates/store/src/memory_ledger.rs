//! An in-process [`Ledger`] on `dashmap`: fast, bounded, forgotten on restart.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::ledger::wait_for_end;
use crate::{CachedResponse, Claim, ClaimToken, DeliveryKey, Ledger, StoreError, Waited};

type Digest = [u8; 16];

/// How much a [`MemoryLedger`] may remember.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerLimits {
    /// Done entries kept at most; past it the oldest are forgotten first.
    pub capacity: usize,
}

impl Default for LedgerLimits {
    fn default() -> Self {
        Self {
            capacity: 1_000_000,
        }
    }
}

impl LedgerLimits {
    /// Limits with this capacity.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { capacity }
    }
}

/// A [`Ledger`] kept in memory. Entries are keyed by a 16-byte digest of the delivery key, so
/// the memory an entry costs does not depend on the length of the id.
#[derive(Debug)]
pub struct MemoryLedger {
    entries: DashMap<Digest, Entry>,
    /// Done entries in the order they completed, with their expiry, for oldest-first eviction
    /// and expiry. An item whose entry was since replaced is stale and skipped (the entry's
    /// expiry no longer matches: it completed again later).
    done_order: Mutex<VecDeque<(Digest, u64)>>,
    next_id: AtomicU64,
    limits: LedgerLimits,
    /// What expiry times count from.
    epoch: Instant,
}

/// One delivery. Most entries are done, and a million of them must fit in little memory: a done
/// entry is 24 bytes beside its key (the answer's exact bytes, and its expiry and status
/// packed in one word); the rare in-flight entry is boxed.
#[derive(Debug)]
enum Entry {
    InFlight(Box<InFlight>),
    Done(Done),
}

#[derive(Debug)]
struct InFlight {
    token: u64,
    lease_until: Instant,
    ended: Arc<Notify>,
}

#[derive(Debug)]
struct Done {
    /// The cached answer, exactly as long as it is.
    body: Box<[u8]>,
    /// Milliseconds after the ledger's epoch when it expires (low 48 bits), and the HTTP
    /// status (high 16).
    expiry_and_status: u64,
}

const EXPIRY_BITS: u32 = 48;
const EXPIRY_MASK: u64 = (1 << EXPIRY_BITS) - 1;

impl Done {
    fn new(response: &CachedResponse, expires_ms: u64) -> Self {
        Self {
            body: response.body.to_vec().into_boxed_slice(),
            expiry_and_status: (u64::from(response.status) << EXPIRY_BITS)
                | expires_ms.min(EXPIRY_MASK),
        }
    }

    fn expires_ms(&self) -> u64 {
        self.expiry_and_status & EXPIRY_MASK
    }

    fn live(&self, now_ms: u64) -> bool {
        self.expires_ms() > now_ms
    }

    fn response(&self) -> CachedResponse {
        let status = u16::try_from(self.expiry_and_status >> EXPIRY_BITS).unwrap_or(u16::MAX);
        CachedResponse::new(status, Bytes::copy_from_slice(&self.body))
    }
}

/// The order queue is sized up front for capacities up to this (96 MiB of address space);
/// beyond it, it grows as needed.
const ORDER_PRESIZE_LIMIT: usize = 1 << 22;

/// How many expired entries one lock of the order queue may drop, so purging never stalls
/// completions for long.
const PURGE_BATCH: usize = 4096;

impl Default for MemoryLedger {
    fn default() -> Self {
        Self::new(LedgerLimits::default())
    }
}

impl MemoryLedger {
    /// An empty ledger with these limits.
    pub fn new(limits: LedgerLimits) -> Self {
        Self {
            entries: DashMap::new(),
            // Sized once (its pages are touched only as it fills): growing would copy the whole
            // queue while completions wait on its lock.
            done_order: Mutex::new(VecDeque::with_capacity(
                limits.capacity.saturating_add(1).min(ORDER_PRESIZE_LIMIT),
            )),
            next_id: AtomicU64::new(1),
            limits,
            epoch: Instant::now(),
        }
    }

    /// How many entries (in flight and done) the ledger holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the ledger holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn next(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn in_flight(&self, lease: Duration, now: Instant) -> (Entry, u64) {
        let token = self.next();
        let entry = Entry::InFlight(Box::new(InFlight {
            token,
            lease_until: now + lease,
            ended: Arc::new(Notify::new()),
        }));
        (entry, token)
    }

    /// Milliseconds from the ledger's epoch to `at`.
    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn order(&self) -> std::sync::MutexGuard<'_, VecDeque<(Digest, u64)>> {
        // The queue holds plain data; a panic while it was locked cannot leave it inconsistent.
        self.done_order
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn remember_done(&self, digest: Digest, expires_ms: u64) {
        let mut order = self.order();
        order.push_back((digest, expires_ms));
        while order.len() > self.limits.capacity {
            let Some((old, old_expiry)) = order.pop_front() else {
                break;
            };
            self.entries.remove_if(
                &old,
                |_, e| matches!(e, Entry::Done(done) if done.expires_ms() == old_expiry),
            );
        }
    }

    /// Drops up to [`PURGE_BATCH`] expired or stale items from the front of the order queue.
    /// Returns how many entries it removed and whether more may be waiting.
    fn purge_batch(&self, now: Instant) -> (usize, bool) {
        let now = self.ms(now);
        let mut order = self.order();
        let mut purged = 0;
        for _ in 0..PURGE_BATCH {
            let Some(&(digest, expiry)) = order.front() else {
                return (purged, false);
            };
            let live = self.entries.get(&digest).is_some_and(|e| {
                matches!(&*e, Entry::Done(done) if done.expires_ms() == expiry && done.live(now))
            });
            if live {
                // Entries complete roughly in TTL order; one that has not expired ends the sweep
                // (a shorter TTL behind it waits for the next sweep, or for eviction).
                return (purged, false);
            }
            order.pop_front();
            let removed = self.entries.remove_if(
                &digest,
                |_, e| matches!(e, Entry::Done(done) if done.expires_ms() == expiry),
            );
            purged += usize::from(removed.is_some());
        }
        (purged, true)
    }

    /// The state of `digest` as a waiter sees it, and the notifier to wait on if in flight.
    fn observe(&self, digest: &Digest, now: Instant) -> Result<Waited, Arc<Notify>> {
        match self.entries.get(digest).as_deref() {
            Some(Entry::InFlight(held)) => Err(held.ended.clone()),
            Some(Entry::Done(done)) if done.live(self.ms(now)) => Ok(Waited::Done(done.response())),
            Some(Entry::Done(_)) | None => Ok(Waited::Released),
        }
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let claim = match self.entries.entry(key.digest()) {
            MapEntry::Vacant(slot) => {
                let (entry, token) = self.in_flight(lease, now);
                slot.insert(entry);
                Claim::New(ClaimToken::from_raw(token))
            }
            MapEntry::Occupied(mut slot) => match slot.get_mut() {
                Entry::InFlight(held) if held.lease_until > now => Claim::InFlight,
                Entry::InFlight(held) => {
                    // The holder's lease ran out (it crashed or hung): take over, keeping the
                    // notifier so that those already waiting hear how it ends.
                    held.token = self.next();
                    held.lease_until = now + lease;
                    Claim::New(ClaimToken::from_raw(held.token))
                }
                Entry::Done(done) if done.live(self.ms(now)) => Claim::Done(done.response()),
                done @ Entry::Done(_) => {
                    let (entry, token) = self.in_flight(lease, now);
                    *done = entry;
                    Claim::New(ClaimToken::from_raw(token))
                }
            },
        };
        Ok(claim)
    }

    async fn complete(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let digest = key.digest();
        let expires_ms = self.ms(Instant::now() + ttl);
        let ended = {
            let Some(mut entry) = self.entries.get_mut(&digest) else {
                return Err(StoreError::ClaimLost);
            };
            let ended = match &*entry {
                Entry::InFlight(held) if held.token == token.raw() => held.ended.clone(),
                _ => return Err(StoreError::ClaimLost),
            };
            *entry = Entry::Done(Done::new(&response, expires_ms));
            ended
        };
        ended.notify_waiters();
        self.remember_done(digest, expires_ms);
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError> {
        let removed = self.entries.remove_if(
            &key.digest(),
            |_, e| matches!(e, Entry::InFlight(held) if held.token == token.raw()),
        );
        match removed {
            Some((_, Entry::InFlight(held))) => {
                held.ended.notify_waiters();
                Ok(())
            }
            _ => Err(StoreError::ClaimLost),
        }
    }

    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError> {
        let digest = key.digest();
        wait_for_end(|| Ok(self.observe(&digest, Instant::now())), timeout).await
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        let mut purged = 0;
        loop {
            let (dropped, more) = self.purge_batch(Instant::now());
            purged += dropped;
            if !more {
                return Ok(purged);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    const LEASE: Duration = Duration::from_secs(10);
    const TTL: Duration = Duration::from_secs(60);

    fn key(id: &str) -> DeliveryKey<'_> {
        DeliveryKey::new("ch", id)
    }

    fn response(body: &'static str) -> CachedResponse {
        CachedResponse::new(200, Bytes::from_static(body.as_bytes()))
    }

    async fn claim_new(ledger: &MemoryLedger, id: &str) -> ClaimToken {
        match ledger.claim(&key(id), LEASE).await.expect("claim") {
            Claim::New(token) => token,
            other => panic!("expected a new claim, got {other:?}"),
        }
    }

    #[test]
    fn a_done_entry_is_small() {
        assert!(
            std::mem::size_of::<Entry>() <= 24,
            "{}",
            std::mem::size_of::<Entry>()
        );
    }

    #[tokio::test]
    async fn a_cached_answer_keeps_its_status_and_bytes() {
        let ledger = MemoryLedger::default();
        let token = claim_new(&ledger, "a").await;
        let answer = CachedResponse::new(202, Bytes::from(vec![0_u8, 255, 7]));
        ledger
            .complete(&key("a"), token, answer.clone(), TTL)
            .await
            .unwrap();
        assert_eq!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::Done(answer)
        );
    }

    #[tokio::test]
    async fn claim_then_duplicate_sees_in_flight_then_done() {
        let ledger = MemoryLedger::default();
        let token = claim_new(&ledger, "a").await;
        assert_eq!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::InFlight
        );
        ledger
            .complete(&key("a"), token, response("r"), TTL)
            .await
            .unwrap();
        assert_eq!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::Done(response("r"))
        );
        // Other channels do not share ids.
        assert!(matches!(
            ledger
                .claim(&DeliveryKey::new("other", "a"), LEASE)
                .await
                .unwrap(),
            Claim::New(_)
        ));
    }

    #[tokio::test]
    async fn release_lets_the_retry_run() {
        let ledger = MemoryLedger::default();
        let token = claim_new(&ledger, "a").await;
        ledger.release(&key("a"), token).await.unwrap();
        let again = claim_new(&ledger, "a").await;
        assert_ne!(token, again);
        // The old token no longer holds anything.
        assert!(matches!(
            ledger.release(&key("a"), token).await,
            Err(StoreError::ClaimLost)
        ));
        assert!(matches!(
            ledger.complete(&key("a"), token, response("x"), TTL).await,
            Err(StoreError::ClaimLost)
        ));
        assert!(matches!(
            ledger
                .complete(&key("zzz"), token, response("x"), TTL)
                .await,
            Err(StoreError::ClaimLost)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_lease_can_be_taken_over() {
        let ledger = MemoryLedger::default();
        let first = claim_new(&ledger, "a").await;
        tokio::time::advance(LEASE + Duration::from_millis(1)).await;
        let second = claim_new(&ledger, "a").await;
        assert!(matches!(
            ledger
                .complete(&key("a"), first, response("late"), TTL)
                .await,
            Err(StoreError::ClaimLost)
        ));
        ledger
            .complete(&key("a"), second, response("r"), TTL)
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn done_entries_expire_after_their_ttl() {
        let ledger = MemoryLedger::default();
        let token = claim_new(&ledger, "a").await;
        ledger
            .complete(&key("a"), token, response("r"), TTL)
            .await
            .unwrap();
        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        assert!(matches!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::Done(_)
        ));
        tokio::time::advance(Duration::from_millis(2)).await;
        assert!(matches!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::New(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn purge_drops_expired_done_entries_only() {
        let ledger = MemoryLedger::default();
        for id in ["a", "b"] {
            let token = claim_new(&ledger, id).await;
            ledger
                .complete(&key(id), token, response("r"), TTL)
                .await
                .unwrap();
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        let token = claim_new(&ledger, "c").await;
        ledger
            .complete(&key("c"), token, response("r"), TTL)
            .await
            .unwrap();
        let _in_flight = claim_new(&ledger, "d").await;
        assert_eq!(ledger.purge_expired().await.unwrap(), 0);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(ledger.purge_expired().await.unwrap(), 2);
        assert_eq!(ledger.len(), 2, "c (done, fresh) and d (in flight) remain");
    }

    #[tokio::test]
    async fn capacity_evicts_the_oldest_first() {
        let ledger = MemoryLedger::new(LedgerLimits::with_capacity(2));
        for id in ["a", "b", "c"] {
            let token = claim_new(&ledger, id).await;
            ledger
                .complete(&key(id), token, response("r"), TTL)
                .await
                .unwrap();
        }
        assert_eq!(ledger.len(), 2);
        assert!(matches!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::New(_)
        ));
        assert!(matches!(
            ledger.claim(&key("b"), LEASE).await.unwrap(),
            Claim::Done(_)
        ));
        assert!(matches!(
            ledger.claim(&key("c"), LEASE).await.unwrap(),
            Claim::Done(_)
        ));
    }

    #[tokio::test]
    async fn waiters_get_the_completed_response() {
        let ledger = Arc::new(MemoryLedger::default());
        let token = claim_new(&ledger, "a").await;
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.wait(&key("a"), Duration::from_secs(60)).await })
            })
            .collect();
        // Let every waiter register before completing.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        ledger
            .complete(&key("a"), token, response("r"), TTL)
            .await
            .unwrap();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), Waited::Done(response("r")));
        }
    }

    #[tokio::test]
    async fn waiters_hear_a_release() {
        let ledger = Arc::new(MemoryLedger::default());
        let token = claim_new(&ledger, "a").await;
        let waiter = {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.wait(&key("a"), Duration::from_secs(60)).await })
        };
        tokio::task::yield_now().await;
        ledger.release(&key("a"), token).await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), Waited::Released);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_times_out_while_in_flight() {
        let ledger = MemoryLedger::default();
        let _token = claim_new(&ledger, "a").await;
        assert_eq!(
            ledger
                .wait(&key("a"), Duration::from_secs(1))
                .await
                .unwrap(),
            Waited::TimedOut
        );
        assert_eq!(
            ledger
                .wait(&key("unknown"), Duration::from_secs(1))
                .await
                .unwrap(),
            Waited::Released
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_grant_exactly_one() {
        let ledger = Arc::new(MemoryLedger::default());
        let claims: Vec<_> = (0..100)
            .map(|_| {
                let ledger = ledger.clone();
                tokio::spawn(async move { ledger.claim(&key("a"), LEASE).await })
            })
            .collect();
        let mut new = 0;
        for claim in claims {
            if matches!(claim.await.unwrap().unwrap(), Claim::New(_)) {
                new += 1;
            }
        }
        assert_eq!(new, 1);
    }
}
