//! Which partitions are this instance's: members announce themselves, take free partitions
//! up to their share, renew their leases, and adopt what a previous owner left pending.

use std::time::Duration;

use botwire_store::StoreError;
use redis::AsyncCommands;
use redis::streams::{StreamAutoClaimOptions, StreamAutoClaimReply, StreamInfoConsumersReply};
use tokio::time::Instant;

use super::ids::now_ms;
use super::keys::GROUP;
use super::reading::READ_BATCH;
use super::scripts::{RELEASE, RENEW};
use super::state::Owned;
use crate::{RedisStore, unavailable};

/// How often a waiting worker looks for entries other instances added, and renews leases.
const LOOK_EVERY: Duration = Duration::from_millis(100);

impl RedisStore {
    /// How often waiting workers look for new entries and renew leases.
    pub(super) fn look_every(&self) -> Duration {
        LOOK_EVERY.min(self.queue.lease / 3)
    }

    /// Takes free partitions, renews the ones held, and reads their new entries into the
    /// local index, when it is time to. Waits for a reader at work only when `wait`: workers
    /// do not, since that reader looks too when it is time (see `read_unread`); under a
    /// steady stream of pushes the lock is seldom free, and workers waiting for it would take
    /// no job while the queue fills.
    pub(super) async fn look(&self, wait: bool) -> Result<(), StoreError> {
        if !self.look_due() {
            return Ok(());
        }
        {
            let _reading = if wait {
                self.queue.reading.lock().await
            } else {
                let Ok(reading) = self.queue.reading.try_lock() else {
                    return Ok(());
                };
                reading
            };
            self.look_locked().await?;
        }
        // Pushes that found the lock taken meanwhile left their partitions to this reader.
        self.read_unread().await
    }

    /// Whether it is time to look again.
    pub(super) fn look_due(&self) -> bool {
        let looked = self.queue.looked.lock().unwrap_or_else(|e| e.into_inner());
        !looked.is_some_and(|at| at.elapsed() < self.look_every() / 2)
    }

    /// [`look`](Self::look), with the reading lock held (so no other look runs meanwhile).
    pub(super) async fn look_locked(&self) -> Result<(), StoreError> {
        if !self.look_due() {
            return Ok(());
        }
        *self.queue.looked.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let mut conn = self.conn.clone();
        let lease_ms = u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX);
        // Instances announce themselves; each aims at its share of the partitions.
        let members = self.key("q", "members");
        let now = now_ms();
        let (_, _, live): (i64, i64, usize) = redis::pipe()
            .zadd(
                &members,
                &self.queue.instance,
                now.saturating_add(lease_ms) as f64,
            )
            .zrembyscore(&members, f64::NEG_INFINITY, now as f64)
            .zcard(&members)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let share = (self.queue.partitions as usize).div_ceil(live.max(1));
        for partition in 0..self.queue.partitions {
            let owner = self.queue_key(partition, "owner");
            let held = self.queue.owned().get(&partition).map(|o| o.renewed);
            match held {
                Some(renewed) if renewed.elapsed() < self.queue.lease / 3 => {}
                Some(_) => {
                    let renewed: i64 = RENEW
                        .key(&owner)
                        .arg(&self.queue.instance)
                        .arg(u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX))
                        .invoke_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    if renewed == 1 {
                        if let Some(owned) = self.queue.owned().get_mut(&partition) {
                            owned.renewed = Instant::now();
                        }
                    } else {
                        tracing::warn!(partition, "lost the lease on a queue partition");
                        self.queue.let_go(partition, true);
                    }
                }
                None if self.queue.owned().len() >= share => {}
                None => {
                    let taken: Option<String> = redis::cmd("SET")
                        .arg(&owner)
                        .arg(&self.queue.instance)
                        .arg("NX")
                        .arg("PX")
                        .arg(u64::try_from(self.queue.lease.as_millis()).unwrap_or(u64::MAX))
                        .query_async(&mut conn)
                        .await
                        .map_err(unavailable)?;
                    if taken.is_some() {
                        self.queue.owned().insert(partition, Owned::new());
                    }
                }
            }
        }
        // More than a share (another instance joined): hand over partitions no worker holds.
        let extra: Vec<u32> = {
            let owned = self.queue.owned();
            let mut idle: Vec<u32> = owned
                .keys()
                .copied()
                .filter(|p| !self.queue.held_by_workers(*p))
                .collect();
            idle.sort_unstable();
            idle.into_iter()
                .take(owned.len().saturating_sub(share))
                .collect()
        };
        for partition in extra {
            if !self.queue.let_go(partition, false) {
                continue;
            }
            let _: i64 = RELEASE
                .key(self.queue_key(partition, "owner"))
                .arg(&self.queue.instance)
                .invoke_async(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        let partitions: Vec<u32> = self.queue.owned().keys().copied().collect();
        for partition in partitions {
            self.read_partition(partition).await?;
        }
        Ok(())
    }

    /// How many queue partitions this instance holds now.
    pub fn owned_partitions(&self) -> usize {
        self.queue.owned().len()
    }

    /// Makes sure the partition's group exists, and claims every entry pending for another
    /// consumer (an instance that died or handed the partition over), so that it is read
    /// again here. Consumers left with nothing pending are removed.
    pub(super) async fn adopt(&self, partition: u32) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let stream = self.queue_key(partition, "stream");
        let created: redis::RedisResult<()> =
            conn.xgroup_create_mkstream(&stream, GROUP, "0").await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => return Err(unavailable(e)),
            _ => {}
        }
        let mut start = "0-0".to_owned();
        let mut claimed = 0;
        loop {
            let options = StreamAutoClaimOptions::default()
                .count(READ_BATCH)
                .with_justid();
            let reply: StreamAutoClaimReply = conn
                .xautoclaim_options(&stream, GROUP, &self.queue.instance, 0, &start, options)
                .await
                .map_err(unavailable)?;
            claimed += reply.claimed.len();
            if reply.next_stream_id == "0-0" {
                break;
            }
            start = reply.next_stream_id;
        }
        let consumers: StreamInfoConsumersReply = conn
            .xinfo_consumers(&stream, GROUP)
            .await
            .map_err(unavailable)?;
        for gone in consumers
            .consumers
            .iter()
            .filter(|c| c.pending == 0 && c.name != self.queue.instance)
        {
            let _: i64 = conn
                .xgroup_delconsumer(&stream, GROUP, &gone.name)
                .await
                .map_err(unavailable)?;
        }
        if claimed > 0 {
            tracing::info!(
                partition,
                claimed,
                "took over a queue partition's unfinished entries"
            );
        }
        Ok(())
    }
}
