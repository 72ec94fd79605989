//! State timers on Redis: every timer in one hash tag, `{timers}`, so that each step is one
//! script on one slot: three hashes by conversation (generation, claim, state) and a sorted
//! set by due time. A conversation is named inside them by `channel \n conversation`.

use std::sync::LazyLock;
use std::time::SystemTime;

use async_trait::async_trait;
use botwire_store::{
    ConversationKey, DueTimer, StoreError, Timer, Timers, epoch_ms, from_epoch_ms,
};
use redis::Script;

use crate::{RedisStore, unavailable};

/// Replaces the timer `ARGV[1]`: generation `ARGV[2]`, due at `ARGV[3]`, state `ARGV[4]`,
/// unclaimed.
static SET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 1
",
    )
});

/// Removes the timer `ARGV[1]` if its generation is `ARGV[2]` (`''`: any).
static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local g = redis.call('HGET', KEYS[1], ARGV[1])
if not g or (ARGV[2] ~= '' and g ~= ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
",
    )
});

/// Claims the timer `ARGV[1]` of generation `ARGV[2]` at `ARGV[3]` until `ARGV[4]`, unless
/// another claim holds past now.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held and tonumber(held) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 1
",
    )
});

/// Up to `ARGV[2]` timers due at `ARGV[1]` and not held, earliest first, as
/// (member, generation, due at, state) in a flat list.
static DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out, found, offset = {}, 0, 0
while found < limit do
  local page = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'WITHSCORES', 'LIMIT', offset, 100)
  if #page == 0 then break end
  for i = 1, #page, 2 do
    local member = page[i]
    local held = redis.call('HGET', KEYS[2], member)
    if found < limit and (not held or tonumber(held) <= now) then
      local g = redis.call('HGET', KEYS[1], member)
      local s = redis.call('HGET', KEYS[3], member)
      if g and s then
        table.insert(out, member)
        table.insert(out, g)
        table.insert(out, page[i + 1])
        table.insert(out, s)
        found = found + 1
      end
    end
  end
  offset = offset + 100
end
return out
",
    )
});

impl RedisStore {
    /// The generation, claim and state hashes and the due set, in the order the scripts take.
    fn timer_keys(&self) -> [String; 4] {
        ["generation", "claim", "state", "due"].map(|name| self.key("timers", name))
    }
}

fn member(key: &ConversationKey<'_>) -> String {
    format!("{}\n{}", key.channel, key.conversation)
}

#[async_trait]
impl Timers for RedisStore {
    async fn set(&self, key: &ConversationKey<'_>, timer: &Timer) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = SET
            .key(&self.timer_keys()[..])
            .arg(member(key))
            .arg(timer.generation.to_string())
            .arg(epoch_ms(timer.due_at))
            .arg(&timer.state)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &ConversationKey<'_>) -> Result<Option<Timer>, StoreError> {
        let [generation, _, state, due] = self.timer_keys();
        let member = member(key);
        let mut conn = self.conn.clone();
        let (found, name, due_ms): (Option<String>, Option<String>, Option<f64>) = redis::pipe()
            .atomic()
            .hget(generation, &member)
            .hget(state, &member)
            .zscore(due, &member)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let (Some(found), Some(state), Some(due_ms)) = (found, name, due_ms) else {
            return Ok(None);
        };
        Ok(Some(Timer {
            state,
            due_at: from_epoch_ms(ms(due_ms)),
            generation: found
                .parse()
                .map_err(|_| unavailable("a timer's generation is not a number"))?,
        }))
    }

    async fn remove(
        &self,
        key: &ConversationKey<'_>,
        generation: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let removed: i64 = REMOVE
            .key(&self.timer_keys()[..])
            .arg(member(key))
            .arg(generation.map(|g| g.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(removed == 1)
    }

    async fn due(&self, now: SystemTime, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let mut conn = self.conn.clone();
        let flat: Vec<String> = DUE
            .key(&self.timer_keys()[..])
            .arg(epoch_ms(now))
            .arg(limit)
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        flat.chunks_exact(4)
            .map(|found| {
                let [member, generation, due, state] = found else {
                    return Err(unavailable("the due script returned a short row"));
                };
                let (channel, conversation) = member.split_once('\n').unwrap_or((member, ""));
                let timer = Timer {
                    state: state.clone(),
                    due_at: from_epoch_ms(ms(due.parse().unwrap_or_default())),
                    generation: generation
                        .parse()
                        .map_err(|_| unavailable("a timer's generation is not a number"))?,
                };
                Ok(DueTimer::new(channel, conversation, timer))
            })
            .collect()
    }

    async fn claim(
        &self,
        key: &ConversationKey<'_>,
        generation: u64,
        now: SystemTime,
        until: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let claimed: i64 = CLAIM
            .key(&self.timer_keys()[..])
            .arg(member(key))
            .arg(generation.to_string())
            .arg(epoch_ms(now))
            .arg(epoch_ms(until))
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(claimed == 1)
    }
}

/// A sorted set's score as the whole milliseconds it was written as.
fn ms(score: f64) -> u64 {
    // Scores are written from u64 milliseconds below 2^53, which doubles hold exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = score.max(0.0) as u64;
    whole
}
