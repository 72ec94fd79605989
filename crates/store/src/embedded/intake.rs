//! A via-API delivery's job and its acknowledgement, written in one group transaction.

use std::time::Duration;

use async_trait::async_trait;

use super::ledger::record_done;
use super::store::EmbeddedStore;
use crate::{CachedResponse, ClaimToken, DeliveryKey, Intake, JobId, NewJob, StoreError};

#[async_trait]
impl Intake for EmbeddedStore {
    async fn push_acknowledged(
        &self,
        job: NewJob,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        ack: CachedResponse,
        ttl: Duration,
    ) -> Result<JobId, StoreError> {
        let completion = self.completion(key, token, ttl)?;
        let (id, dropped) = self
            .push_with(job, true, move |tables| {
                record_done(tables, &completion, &ack)
            })
            .await?;
        self.completed(&completion, dropped);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::{Claim, EmbeddedOptions, Ledger, Queue};

    const LEASE: Duration = Duration::from_secs(10);
    const HOUR: Duration = Duration::from_secs(3600);

    fn open(dir: &tempfile::TempDir, queue_capacity: usize) -> EmbeddedStore {
        EmbeddedStore::open_with(
            dir.path().join("intake.redb"),
            EmbeddedOptions::default().with_queue_capacity(queue_capacity),
        )
        .expect("opens")
    }

    fn job(id: &str) -> NewJob {
        NewJob::new("ch", "room", id, Bytes::from_static(b"{}"))
    }

    fn ack() -> CachedResponse {
        CachedResponse::new(200, Bytes::from_static(b"{\"ok\":true}"))
    }

    async fn claim(store: &EmbeddedStore, id: &str) -> ClaimToken {
        match store
            .claim(&DeliveryKey::new("ch", id), LEASE)
            .await
            .expect("claim")
        {
            Claim::New(token) => token,
            other => panic!("expected a new claim, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_job_and_its_acknowledgement_are_kept_together_across_a_reopen() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let key = DeliveryKey::new("ch", "d1");
        let commits;
        {
            let store = open(&dir, 10);
            let token = claim(&store, "d1").await;
            let before = store.commits();
            let id = store
                .push_acknowledged(job("d1"), &key, token, ack(), HOUR)
                .await
                .expect("accepted");
            commits = store.commits() - before;
            assert_eq!(store.claim(&key, LEASE).await.unwrap(), Claim::Done(ack()));
            assert_eq!(store.take().await.expect("a job").id, id);
        }
        assert_eq!(commits, 1, "one commit for both");
        let store = open(&dir, 10);
        assert_eq!(store.claim(&key, LEASE).await.unwrap(), Claim::Done(ack()));
        assert_eq!(store.take().await.expect("the job again").delivery_id, "d1");
    }

    #[tokio::test]
    async fn a_lost_claim_writes_neither() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = open(&dir, 10);
        let key = DeliveryKey::new("ch", "d1");
        let token = claim(&store, "d1").await;
        store.release(&key, token).await.expect("released");
        let error = store
            .push_acknowledged(job("d1"), &key, token, ack(), HOUR)
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::ClaimLost), "{error:?}");
        assert_eq!(store.stats().await.expect("stats").queued, 0);
        assert!(matches!(
            store.claim(&key, LEASE).await.unwrap(),
            Claim::New(_)
        ));
    }

    #[tokio::test]
    async fn a_full_queue_writes_neither_and_leaves_the_claim_held() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = open(&dir, 1);
        store.push(job("first")).await.expect("queued");
        let key = DeliveryKey::new("ch", "d2");
        let token = claim(&store, "d2").await;
        let error = store
            .push_acknowledged(job("d2"), &key, token, ack(), HOUR)
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::QueueFull { capacity: 1 }),
            "{error:?}"
        );
        assert_eq!(store.stats().await.expect("stats").queued, 1);
        assert_eq!(store.claim(&key, LEASE).await.unwrap(), Claim::InFlight);
        // The holder can still answer it another way (a dead letter, say) and record that.
        store
            .complete(&key, token, ack(), HOUR)
            .await
            .expect("still held");
    }
}
