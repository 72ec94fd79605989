//! Dead letters: kept in the order they died, across instances.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use botwire_store::{DeadLetter, Job, JobId, NewJob, StoreError};
use bytes::Bytes;
use redis::AsyncCommands;

use super::ids::now_ms;
use super::scripts::KEEP_DEAD;
use crate::{RedisStore, unavailable};

impl RedisStore {
    pub(super) async fn keep_dead(&self, job: &Job, reason: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.dead_key(&job.id.0.to_string());
        let mut fields: Vec<(&str, Vec<u8>)> = vec![
            ("c", job.channel.clone().into_bytes()),
            ("v", job.conversation.clone().into_bytes()),
            ("d", job.delivery_id.clone().into_bytes()),
            ("b", job.body.to_vec()),
            ("n", job.attempts.to_string().into_bytes()),
            ("r", reason.as_bytes().to_vec()),
            ("t", now_ms().to_string().into_bytes()),
            (
                "a",
                job.accepted_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
                    .to_string()
                    .into_bytes(),
            ),
        ];
        if let Some(progress) = &job.progress {
            fields.push(("p", progress.to_vec()));
        }
        if let Some(error) = &job.last_error {
            fields.push(("e", error.clone().into_bytes()));
        }
        let mut script = KEEP_DEAD.prepare_invoke();
        script
            .key(&key)
            .key(self.dead_key("ids"))
            .key(self.dead_key("order"))
            .arg(job.id.0.to_string())
            .arg(self.queue.dead_letters);
        for (field, value) in &fields {
            script.arg(*field).arg(&value[..]);
        }
        // The ids taken off the list, each followed by its rank.
        let dropped: Vec<String> = script.invoke_async(&mut conn).await.map_err(unavailable)?;
        for id in dropped.iter().step_by(2) {
            tracing::warn!(
                dead_letter = %id,
                capacity = self.queue.dead_letters,
                "the dead-letter list is full: dropped the letter that died first"
            );
            let deleted: Result<i64, _> = conn.del(self.dead_key(id)).await;
            if let Err(error) = deleted {
                // Off the list already: nothing lists or replays it; only its bytes remain.
                tracing::warn!(%error, dead_letter = %id, "could not delete a dropped dead letter");
            }
        }
        Ok(())
    }

    pub(super) async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, Vec<u8>> = conn
            .hgetall(self.dead_key(&id.to_string()))
            .await
            .map_err(unavailable)?;
        if fields.is_empty() {
            return Ok(None);
        }
        let text = |name: &str| {
            fields
                .get(name)
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let ms = |name: &str| {
            UNIX_EPOCH + Duration::from_millis(text(name).and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        let new = NewJob::new(
            text("c").unwrap_or_default(),
            text("v").unwrap_or_default(),
            text("d").unwrap_or_default(),
            Bytes::from(fields.get("b").cloned().unwrap_or_default()),
        );
        let mut job = Job::accepted(JobId(id), new, ms("a"));
        job.attempts = text("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        job.progress = fields.get("p").cloned().map(Bytes::from);
        job.last_error = text("e");
        Ok(Some(DeadLetter::new(
            job,
            text("r").unwrap_or_default(),
            ms("t"),
        )))
    }
}
