//! The delivery ledger in the embedded store.
//!
//! Done deliveries and their cached responses are durable: `complete` returns only once the
//! answer is on disk, so an acknowledgement sent after it survives a crash. Claims in flight
//! live in memory: the file belongs to one process at a time, so after a restart nothing can be
//! in flight and the sender's retry claims anew, which is what an expired lease would allow.
//!
//! Two tables: `ledger` (digest → expiry, status, body) and `ledger_expiry` (expiry, digest),
//! the order in which entries expire, for purging and for the size bound.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::mapref::entry::Entry as MapEntry;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{EmbeddedStore, readable, unavailable};
use crate::ledger::wait_for_end;
use crate::{CachedResponse, Claim, ClaimToken, DeliveryKey, Ledger, StoreError, Waited};

/// digest → (expires at, ms since the epoch; status; body).
const LEDGER: TableDefinition<'_, &[u8], (u64, u16, &[u8])> = TableDefinition::new("ledger");
/// (expires at, digest) → (), in expiry order.
const EXPIRY: TableDefinition<'_, (u64, &[u8]), ()> = TableDefinition::new("ledger_expiry");

/// Expired entries one purge transaction drops at most, so a purge never holds the writer long.
const PURGE_BATCH: usize = 1000;

/// A claim being worked on.
#[derive(Debug)]
pub(super) struct InFlight {
    token: u64,
    lease_until: Instant,
    ended: Arc<Notify>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl EmbeddedStore {
    fn next_token(&self) -> u64 {
        self.inner.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// The cached response of a done, unexpired delivery.
    fn done(&self, digest: &[u8]) -> Result<Option<CachedResponse>, StoreError> {
        let tx = self.read()?;
        let Some(table) = readable(&tx, LEDGER)? else {
            return Ok(None);
        };
        let Some(entry) = table.get(digest).map_err(unavailable)? else {
            return Ok(None);
        };
        let (expires, status, body) = entry.value();
        Ok((expires > now_ms()).then(|| CachedResponse::new(status, Bytes::copy_from_slice(body))))
    }

    /// The state of `digest` as a waiter sees it, and the notifier to wait on if in flight.
    fn observe(&self, digest: &[u8; 16]) -> Result<Result<Waited, Arc<Notify>>, StoreError> {
        if let Some(claim) = self.inner.claims.get(digest) {
            return Ok(Err(claim.ended.clone()));
        }
        Ok(Ok(match self.done(digest)? {
            Some(cached) => Waited::Done(cached),
            None => Waited::Released,
        }))
    }

    /// Ends the claim `token` holds on `digest`, waking its waiters; whether it held it.
    fn end_claim(&self, digest: &[u8; 16], token: ClaimToken) -> bool {
        match self
            .inner
            .claims
            .remove_if(digest, |_, claim| claim.token == token.raw())
        {
            Some((_, claim)) => {
                claim.ended.notify_waiters();
                true
            }
            None => false,
        }
    }
}

/// Records a done delivery, and drops the entries that expire first while the ledger holds
/// more than `capacity`.
fn record_done(
    tx: &WriteTransaction,
    digest: &[u8],
    expires: u64,
    response: &CachedResponse,
    capacity: usize,
) -> Result<(), StoreError> {
    let mut ledger = tx.open_table(LEDGER).map_err(unavailable)?;
    let mut expiry = tx.open_table(EXPIRY).map_err(unavailable)?;
    let previous = ledger
        .insert(digest, (expires, response.status, &response.body[..]))
        .map_err(unavailable)?
        .map(|old| old.value().0);
    if let Some(old) = previous {
        expiry.remove((old, digest)).map_err(unavailable)?;
    }
    expiry.insert((expires, digest), ()).map_err(unavailable)?;
    let mut over = usize::try_from(ledger.len().map_err(unavailable)?)
        .unwrap_or(usize::MAX)
        .saturating_sub(capacity);
    while over > 0 {
        let Some((_, digest)) = pop_first(&mut expiry)? else {
            break;
        };
        ledger.remove(digest.as_slice()).map_err(unavailable)?;
        over -= 1;
    }
    Ok(())
}

/// Removes the entry that expires first; returns its expiry and digest.
fn pop_first(
    expiry: &mut redb::Table<'_, (u64, &[u8]), ()>,
) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
    let first = expiry.pop_first().map_err(unavailable)?;
    Ok(first.map(|(key, _)| {
        let (at, digest) = key.value();
        (at, digest.to_vec())
    }))
}

/// Drops up to [`PURGE_BATCH`] entries expired by `now`; returns how many, and whether more
/// may be waiting.
fn purge_batch(tx: &WriteTransaction, now: u64) -> Result<(usize, bool), StoreError> {
    let mut ledger = tx.open_table(LEDGER).map_err(unavailable)?;
    let mut expiry = tx.open_table(EXPIRY).map_err(unavailable)?;
    let mut purged = 0;
    for _ in 0..PURGE_BATCH {
        let due = match expiry.first().map_err(unavailable)? {
            Some((key, _)) => key.value().0 <= now,
            None => return Ok((purged, false)),
        };
        if !due {
            return Ok((purged, false));
        }
        let Some((_, digest)) = pop_first(&mut expiry)? else {
            return Ok((purged, false));
        };
        ledger.remove(digest.as_slice()).map_err(unavailable)?;
        purged += 1;
    }
    Ok((purged, true))
}

#[async_trait]
impl Ledger for EmbeddedStore {
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let digest = key.digest();
        let claim = match self.inner.claims.entry(digest) {
            MapEntry::Occupied(mut slot) => {
                let claim = slot.get_mut();
                if claim.lease_until > now {
                    Claim::InFlight
                } else {
                    // The holder's lease ran out: take over, keeping the waiters' notifier.
                    claim.token = self.next_token();
                    claim.lease_until = now + lease;
                    Claim::New(ClaimToken::from_raw(claim.token))
                }
            }
            // The shard stays locked while the done table is read, so two claims of one new
            // delivery cannot both see it absent.
            MapEntry::Vacant(slot) => match self.done(&digest)? {
                Some(cached) => Claim::Done(cached),
                None => {
                    let token = self.next_token();
                    slot.insert(InFlight {
                        token,
                        lease_until: now + lease,
                        ended: Arc::new(Notify::new()),
                    });
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
        let held = self
            .inner
            .claims
            .get(&digest)
            .is_some_and(|claim| claim.token == token.raw());
        if !held {
            return Err(StoreError::ClaimLost);
        }
        let expires = now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        let capacity = self.inner.ledger_capacity;
        self.write(move |tx| record_done(tx, &digest, expires, &response, capacity))
            .await?;
        // Durable now. A holder whose lease was taken over meanwhile still recorded a valid
        // answer; the new holder's completion will replace it.
        self.end_claim(&digest, token);
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError> {
        if self.end_claim(&key.digest(), token) {
            Ok(())
        } else {
            Err(StoreError::ClaimLost)
        }
    }

    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError> {
        let digest = key.digest();
        wait_for_end(|| self.observe(&digest), timeout).await
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        let mut purged = 0;
        loop {
            let now = now_ms();
            let (dropped, more) = self.write(move |tx| purge_batch(tx, now)).await?;
            purged += dropped;
            if !more {
                return Ok(purged);
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read().map(drop)
    }
}

// The contract itself is checked by the conformance suite (botwire_testkit::conformance);
// these cases are what only a file can show: reopening, batches, the size bound.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmbeddedOptions;

    const LEASE: Duration = Duration::from_secs(10);
    const HOUR: Duration = Duration::from_secs(3600);

    fn key(id: &str) -> DeliveryKey<'_> {
        DeliveryKey::new("ch", id)
    }

    fn response(body: &'static str) -> CachedResponse {
        CachedResponse::new(200, Bytes::from_static(body.as_bytes()))
    }

    fn open(dir: &tempfile::TempDir, capacity: usize) -> EmbeddedStore {
        EmbeddedStore::open_with(
            dir.path().join("ledger.redb"),
            EmbeddedOptions::default().with_ledger_capacity(capacity),
        )
        .expect("opens")
    }

    async fn claim_new(ledger: &EmbeddedStore, id: &str) -> ClaimToken {
        match ledger.claim(&key(id), LEASE).await.expect("claim") {
            Claim::New(token) => token,
            other => panic!("expected a new claim, got {other:?}"),
        }
    }

    async fn done(ledger: &EmbeddedStore, id: &str, body: &'static str, ttl: Duration) {
        let token = claim_new(ledger, id).await;
        ledger
            .complete(&key(id), token, response(body), ttl)
            .await
            .expect("completed");
    }

    #[tokio::test]
    async fn done_answers_survive_a_reopen_byte_for_byte_and_claims_do_not() {
        let dir = tempfile::tempdir().expect("a temp dir");
        {
            let ledger = open(&dir, 100);
            let token = claim_new(&ledger, "a").await;
            assert_eq!(
                ledger.claim(&key("a"), LEASE).await.unwrap(),
                Claim::InFlight
            );
            ledger
                .complete(&key("a"), token, response(r#"{"ok":true}"#), HOUR)
                .await
                .unwrap();
            let _in_flight = claim_new(&ledger, "b").await;
        }
        let ledger = open(&dir, 100);
        assert_eq!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::Done(response(r#"{"ok":true}"#))
        );
        // Nothing is in flight after a restart: the sender's retry runs it.
        claim_new(&ledger, "b").await;
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
    async fn expired_entries_are_new_again_and_purged_in_batches() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ledger = open(&dir, 10_000);
        // A zero TTL has expired as soon as it is written.
        for i in 0..(PURGE_BATCH + 5) {
            done(&ledger, &format!("old{i}"), "r", Duration::ZERO).await;
        }
        done(&ledger, "fresh", "r", HOUR).await;
        let _in_flight = claim_new(&ledger, "busy").await;
        // Expired: a delivery of it again is new.
        assert!(matches!(
            ledger.claim(&key("old0"), LEASE).await.unwrap(),
            Claim::New(_)
        ));
        assert_eq!(ledger.purge_expired().await.unwrap(), PURGE_BATCH + 5);
        assert_eq!(ledger.purge_expired().await.unwrap(), 0);
        assert!(matches!(
            ledger.claim(&key("fresh"), LEASE).await.unwrap(),
            Claim::Done(_)
        ));
        assert_eq!(
            ledger.claim(&key("busy"), LEASE).await.unwrap(),
            Claim::InFlight
        );
    }

    #[tokio::test]
    async fn capacity_drops_what_expires_first() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ledger = open(&dir, 2);
        for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
            done(&ledger, id, "r", HOUR + Duration::from_secs(i as u64)).await;
        }
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
}
