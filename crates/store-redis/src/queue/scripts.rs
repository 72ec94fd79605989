//! The Lua scripts the queue runs: each one round trip, atomic on the server.

use std::sync::LazyLock;

/// Extends a partition's lease if this instance still holds it.
pub(super) static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
         return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
    )
});

/// Gives a partition's lease up if this instance holds it.
pub(super) static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then \
         return redis.call('DEL', KEYS[1]) end return 0",
    )
});

/// Sets hash fields only while this instance holds the partition's lease: `KEYS[1]` is the
/// owner key, each further key gets one field (`ARGV[2i]`) and value (`ARGV[2i+1]`).
/// Returns 0, writing nothing, when the lease is another's.
pub(super) static FENCED_HSET: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end \
         for i = 2, #KEYS do redis.call('HSET', KEYS[i], ARGV[2 * i - 2], ARGV[2 * i - 1]) end \
         return 1",
    )
});

/// Appends an entry (`ARGV[2..]`, field and value pairs) to the stream `KEYS[1]` unless it
/// holds `ARGV[1]` entries already; the entry's id, or nil when full. One round trip, and two
/// pushes cannot both take the last place.
pub(super) static BOUNDED_XADD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end \
         return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))",
    )
});

/// Keeps a dead letter: its fields (`ARGV[3..]`) in the hash `KEYS[1]`, and its id
/// (`ARGV[1]`) in the list `KEYS[2]`, ranked by a counter (`KEYS[3]`) so that the list is in
/// the order they died, across instances (ids are stream positions or a counter of their own,
/// and say nothing about it). Past `ARGV[2]` letters, takes the first to die off the list and
/// returns their ids (with their ranks), for the caller to delete their hashes.
pub(super) static KEEP_DEAD: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        "local rank = redis.call('INCR', KEYS[3]) \
         redis.call('HSET', KEYS[1], unpack(ARGV, 3)) \
         redis.call('ZADD', KEYS[2], rank, ARGV[1]) \
         local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[2]) \
         if over > 0 then return redis.call('ZPOPMIN', KEYS[2], over) end \
         return {}",
    )
});
