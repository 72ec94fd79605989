//! The delivery ledger on Redis: one hash per delivery, changed only by the scripts below.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use botwire_store::{CachedResponse, Claim, ClaimToken, DeliveryKey, Ledger, StoreError, Waited};
use bytes::Bytes;
use redis::Script;

use crate::{RedisStore, unavailable};

/// Claims a delivery: new (in flight, expiring with the lease), in flight, or done.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local state = redis.call('HGET', KEYS[1], 's')
if not state then
  redis.call('HSET', KEYS[1], 's', 'F', 't', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new', 0, ''}
elseif state == 'F' then
  return {'inflight', 0, ''}
end
local done = redis.call('HMGET', KEYS[1], 'c', 'b')
return {'done', tonumber(done[1]), done[2]}
",
    )
});

/// Completes a claim still held by the token: the answer, kept for the TTL.
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('HMGET', KEYS[1], 's', 't')
if held[1] ~= 'F' or held[2] ~= ARGV[1] then return 0 end
if tonumber(ARGV[4]) <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 's', 'D', 'c', ARGV[2], 'b', ARGV[3])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
",
    )
});

/// Gives a claim still held by the token up.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local held = redis.call('HMGET', KEYS[1], 's', 't')
if held[1] ~= 'F' or held[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});

/// How often a waiter looks again at a delivery in flight on another instance.
const POLL: Duration = Duration::from_millis(10);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisStore {
    fn delivery_key(&self, key: &DeliveryKey<'_>) -> String {
        self.key(&hex::encode(key.digest()), "delivery")
    }
}

#[async_trait]
impl Ledger for RedisStore {
    async fn claim(&self, key: &DeliveryKey<'_>, lease: Duration) -> Result<Claim, StoreError> {
        let token = fastrand::u64(1..);
        let mut conn = self.conn.clone();
        let (outcome, status, body): (String, u16, Vec<u8>) = CLAIM
            .key(self.delivery_key(key))
            .arg(token.to_string())
            .arg(millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(match outcome.as_str() {
            "new" => Claim::New(ClaimToken::from_raw(token)),
            "inflight" => Claim::InFlight,
            _ => Claim::Done(CachedResponse::new(status, Bytes::from(body))),
        })
    }

    async fn complete(
        &self,
        key: &DeliveryKey<'_>,
        token: ClaimToken,
        response: CachedResponse,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let held: i64 = COMPLETE
            .key(self.delivery_key(key))
            .arg(token.raw().to_string())
            .arg(response.status)
            .arg(&response.body[..])
            .arg(millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if held == 1 {
            Ok(())
        } else {
            Err(StoreError::ClaimLost)
        }
    }

    async fn release(&self, key: &DeliveryKey<'_>, token: ClaimToken) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let held: i64 = RELEASE
            .key(self.delivery_key(key))
            .arg(token.raw().to_string())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if held == 1 {
            Ok(())
        } else {
            Err(StoreError::ClaimLost)
        }
    }

    async fn wait(&self, key: &DeliveryKey<'_>, timeout: Duration) -> Result<Waited, StoreError> {
        // The claim may be held by another instance: look again until it ends.
        let until = tokio::time::Instant::now() + timeout;
        let delivery = self.delivery_key(key);
        loop {
            let mut conn = self.conn.clone();
            let (state, status, body): (Option<String>, Option<u16>, Option<Vec<u8>>) =
                redis::cmd("HMGET")
                    .arg(&delivery)
                    .arg("s")
                    .arg("c")
                    .arg("b")
                    .query_async(&mut conn)
                    .await
                    .map_err(unavailable)?;
            match state.as_deref() {
                None => return Ok(Waited::Released),
                Some("D") => {
                    return Ok(Waited::Done(CachedResponse::new(
                        status.unwrap_or(200),
                        Bytes::from(body.unwrap_or_default()),
                    )));
                }
                Some(_) => {}
            }
            if tokio::time::Instant::now() + POLL > until {
                return Ok(Waited::TimedOut);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn purge_expired(&self) -> Result<usize, StoreError> {
        // Redis expires done deliveries by itself.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.ping_server().await
    }
}
