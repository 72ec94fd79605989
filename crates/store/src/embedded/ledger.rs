//! The delivery ledger in the embedded store.
//!
//! Done deliveries and their cached responses are durable: `complete` returns only once the
//! answer is on disk, so an acknowledgement sent after it survives a crash. Claims in flight
//! live in memory: the file belongs to one process at a time, so after a restart nothing can be
//! in flight and the sender's retry claims anew, which is what an expired lease would allow.
//!
//! One table, `ledger_answers`, keyed by (expiry, digest): answers are written in the order
//! they expire, so each one lands at the end of the tree beside the last (one page takes dozens
//! of them, and a commit writes few pages), and purging and the size bound pop from the front.
//! Which digests are done, and when they expire, is also kept in memory (24 bytes an entry,
//! about 58 with the hash table's slack; rebuilt from the table at start), so a new delivery is
//! told apart without reading the file; only a duplicate reads its answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use dashmap::mapref::entry::Entry as MapEntry;
use redb::{ReadableTable, ReadableTableMetadata};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::access::{readable, unavailable};
use super::ledger_index::{Digest, InFlight};
use super::store::EmbeddedStore;
use super::tables::{ANSWERS, AnswerKey, AnswerValue, Tables};
use crate::ledger::wait_for_end;
use crate::{CachedResponse, Claim, ClaimToken, DeliveryKey, Ledger, StoreError, Waited};

/// Expired entries one purge transaction drops at most, so a purge never holds the writer long.
const PURGE_BATCH: usize = 1000;

fn now_ms() -> u64 {
    crate::epoch_ms(SystemTime::now())
}

impl EmbeddedStore {
    fn next_token(&self) -> u64 {
        self.inner.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// The cached response of a done, unexpired delivery.
    fn done(&self, digest: &Digest) -> Result<Option<CachedResponse>, StoreError> {
        let Some(expires) = self.inner.done.get(digest).map(|e| *e) else {
            return Ok(None);
        };
        if expires <= now_ms() {
            return Ok(None);
        }
        let tx = self.read()?;
        let Some(table) = readable(&tx, ANSWERS)? else {
            return Ok(None);
        };
        // Absent when it was dropped since the index was read: it is not done any more.
        let entry = table.get((expires, &digest[..])).map_err(unavailable)?;
        Ok(entry.map(|entry| {
            let (status, body) = entry.value();
            CachedResponse::new(status, Bytes::copy_from_slice(body))
        }))
    }

    /// The state of `digest` as a waiter sees it, and the notifier to wait on if in flight.
    fn observe(&self, digest: &Digest) -> Result<Result<Waited, Arc<Notify>>, StoreError> {
        if let Some(claim) = self.inner.claims.get(digest) {
            return Ok(Err(claim.ended.clone()));
        }
        Ok(Ok(match self.done(digest)? {
            Some(cached) => Waited::Done(cached),
            None => Waited::Released,
        }))
    }

    /// Ends the claim `token` holds on `digest`, waking its waiters; whether it held it.
    fn end_claim(&self, digest: &Digest, token: ClaimToken) -> bool {
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

    /// What recording `key`'s answer needs, checked before writing: the claim must still be
    /// `token`'s.
    pub(super) fn completion(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        ttl: Duration,
    ) -> Result<Completion, StoreError> {
        let digest = key.digest();
        let held = self
            .inner
            .claims
            .get(&digest)
            .is_some_and(|claim| claim.token == token.raw());
        if !held {
            return Err(StoreError::ClaimLost);
        }
        Ok(Completion {
            digest,
            token,
            expires: now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            replaces: self.inner.done.get(&digest).map(|e| *e),
            capacity: self.inner.ledger_capacity,
        })
    }

    /// Once the answer is durable: remembers it, forgets what it pushed out, ends the claim.
    pub(super) fn completed(&self, completion: &Completion, dropped: Vec<(u64, Digest)>) {
        // A holder whose lease was taken over meanwhile still recorded a valid answer; the new
        // holder's completion will replace it.
        self.inner
            .done
            .insert(completion.digest, completion.expires);
        self.forget(dropped);
        self.end_claim(&completion.digest, completion.token);
    }

    /// Forgets dropped answers, unless the digest was answered again since.
    fn forget(&self, dropped: Vec<(u64, Digest)>) {
        for (expires, digest) in dropped {
            self.inner.done.remove_if(&digest, |_, e| *e == expires);
        }
    }
}

/// A done delivery's answer about to be recorded (see [`EmbeddedStore::completion`]).
#[derive(Clone, Copy)]
pub(super) struct Completion {
    digest: Digest,
    token: ClaimToken,
    /// Milliseconds since the UNIX epoch.
    expires: u64,
    /// The expiry of an earlier (expired) answer to replace.
    replaces: Option<u64>,
    /// Answers the ledger keeps at most.
    capacity: usize,
}

/// Records a done delivery (replacing its earlier, expired answer), and drops the answers
/// that expire first while the ledger holds more than its capacity. Returns the dropped ones.
pub(super) fn record_done(
    tables: &mut Tables<'_>,
    completion: &Completion,
    response: &CachedResponse,
) -> Result<Vec<(u64, Digest)>, StoreError> {
    let Completion {
        digest,
        expires,
        replaces,
        capacity,
        ..
    } = completion;
    let answers = tables.answers()?;
    if let Some(old) = replaces {
        answers.remove((*old, &digest[..])).map_err(unavailable)?;
    }
    answers
        .insert(
            (*expires, &digest[..]),
            (response.status, &response.body[..]),
        )
        .map_err(unavailable)?;
    let over = usize::try_from(answers.len().map_err(unavailable)?)
        .unwrap_or(usize::MAX)
        .saturating_sub(*capacity);
    let mut dropped = Vec::with_capacity(over);
    for _ in 0..over {
        match pop_first(answers)? {
            Some(first) => dropped.push(first),
            None => break,
        }
    }
    Ok(dropped)
}

/// Removes the answer that expires first; returns its expiry and digest.
fn pop_first(
    answers: &mut redb::Table<'_, AnswerKey, AnswerValue>,
) -> Result<Option<(u64, Digest)>, StoreError> {
    let first = answers.pop_first().map_err(unavailable)?;
    Ok(first.map(|(key, _)| {
        let (at, digest) = key.value();
        (at, Digest::try_from(digest).unwrap_or_default())
    }))
}

/// Drops up to [`PURGE_BATCH`] answers expired by `now`; returns them, and whether more may be
/// waiting.
fn purge_batch(
    tables: &mut Tables<'_>,
    now: u64,
) -> Result<(Vec<(u64, Digest)>, bool), StoreError> {
    let answers = tables.answers()?;
    let mut purged = Vec::new();
    for _ in 0..PURGE_BATCH {
        let due = match answers.first().map_err(unavailable)? {
            Some((key, _)) => key.value().0 <= now,
            None => return Ok((purged, false)),
        };
        if !due {
            return Ok((purged, false));
        }
        match pop_first(answers)? {
            Some(first) => purged.push(first),
            None => return Ok((purged, false)),
        }
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
            // The shard stays locked while the answers are looked at, so two claims of one
            // new delivery cannot both see it absent.
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
        let completion = self.completion(key, token, ttl)?;
        let dropped = self
            .write(move |tables| record_done(tables, &completion, &response))
            .await?;
        self.completed(&completion, dropped);
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
            let (dropped, more) = self.write(move |tables| purge_batch(tables, now)).await?;
            purged += dropped.len();
            self.forget(dropped);
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
    use crate::embedded::ledger_index::{OLD_EXPIRY, OLD_LEDGER};
    use redb::Database;

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
    async fn answers_kept_by_earlier_builds_are_moved_and_still_answer() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("ledger.redb");
        let digest = key("old").digest();
        let expires = now_ms() + 3_600_000;
        {
            let db = Database::create(&path).expect("creates");
            let tx = db.begin_write().expect("a write");
            {
                let mut ledger = tx.open_table(OLD_LEDGER).expect("old ledger");
                ledger
                    .insert(&digest[..], (expires, 202, &b"kept"[..]))
                    .expect("inserted");
                let mut expiry = tx.open_table(OLD_EXPIRY).expect("old expiry");
                expiry.insert((expires, &digest[..]), ()).expect("inserted");
            }
            tx.commit().expect("committed");
        }
        let ledger = open(&dir, 100);
        assert_eq!(
            ledger.claim(&key("old"), LEASE).await.unwrap(),
            Claim::Done(CachedResponse::new(202, Bytes::from_static(b"kept")))
        );
        claim_new(&ledger, "new").await;
        drop(ledger);
        // Moved once: the old tables are gone, and a second open finds the answer where it is.
        let ledger = open(&dir, 100);
        let tx = ledger.read().expect("a read");
        assert!(readable(&tx, OLD_LEDGER).expect("readable").is_none());
        assert!(matches!(
            ledger.claim(&key("old"), LEASE).await.unwrap(),
            Claim::Done(_)
        ));
    }

    #[tokio::test]
    async fn an_answer_recorded_again_replaces_the_expired_one() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let ledger = open(&dir, 10);
        done(&ledger, "a", "first", Duration::ZERO).await;
        done(&ledger, "a", "second", HOUR).await;
        assert_eq!(
            ledger.claim(&key("a"), LEASE).await.unwrap(),
            Claim::Done(response("second"))
        );
        let tx = ledger.read().expect("a read");
        let answers = readable(&tx, ANSWERS).expect("readable").expect("written");
        assert_eq!(
            answers.len().expect("a length"),
            1,
            "the expired answer went"
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
