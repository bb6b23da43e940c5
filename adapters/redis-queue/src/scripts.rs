//! The Lua scripts that move tasks between asynq's states. Each leaves Redis
//! exactly as asynq's own operation of the same name does (keys, hash
//! fields, list ends, scores, counters), so Go clients, servers and
//! asynqmon read and write the same data. Every key a script touches is
//! passed in KEYS and shares the queue's hash tag.

use std::sync::LazyLock;

use deadpool_redis::redis::Script;

/// Counter helpers shared by the scripts that finish an attempt: a daily
/// counter expires 90 days after its first increment; a total restarts at 1
/// once it reaches `MaxInt64` (asynq's rule).
const COUNTERS: &str = r#"
local function count_day(key, expire_at)
  if tonumber(redis.call("INCR", key)) == 1 then
    redis.call("EXPIREAT", key, expire_at)
  end
end
local function count_totals(max, processed, failed)
  if tonumber(redis.call("GET", processed)) == tonumber(max) then
    redis.call("SET", processed, 1)
    if failed then redis.call("SET", failed, 1) end
  else
    redis.call("INCR", processed)
    if failed then redis.call("INCR", failed) end
  end
end
local function leave_active(active, lease, id)
  if redis.call("LREM", active, 0, id) == 0 then return false end
  if redis.call("ZREM", lease, id) == 0 then return false end
  return true
end
local function release_unique(key, id)
  if key and redis.call("GET", key) == id then redis.call("DEL", key) end
end
"#;

fn with_counters(body: &str) -> Script {
    Script::new(&format!("{COUNTERS}{body}"))
}

/// Enqueue or schedule. KEYS: task hash, pending list or scheduled zset,
/// [uniqueness lock]. ARGV: msg, id, `pending` or `scheduled`, now (ns) or
/// process time (s), lock TTL (s). Returns 1, 0 when the id exists, -1 when
/// the lock is held.
pub(crate) static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
local lock = KEYS[3]
if lock and not redis.call("SET", lock, ARGV[2], "NX", "EX", ARGV[5]) then return -1 end
if ARGV[3] == "pending" then
  redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "pending", "pending_since", ARGV[4])
  redis.call("LPUSH", KEYS[2], ARGV[2])
else
  redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "scheduled")
  redis.call("ZADD", KEYS[2], ARGV[4], ARGV[2])
end
if lock then redis.call("HSET", KEYS[1], "unique_key", lock) end
return 1
"#,
    )
});

/// Takes up to ARGV[3] tasks from the tail of a queue that is not paused.
/// KEYS: pending, paused, active, lease. ARGV: lease expiry (s), task key
/// prefix, count. Returns the messages; ids whose hash is gone are dropped.
pub(crate) static DEQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local taken = {}
if redis.call("EXISTS", KEYS[2]) == 1 then return taken end
for _ = 1, tonumber(ARGV[3]) do
  local id = redis.call("RPOPLPUSH", KEYS[1], KEYS[3])
  if not id then break end
  local key = ARGV[2] .. id
  local msg = redis.call("HGET", key, "msg")
  if msg then
    redis.call("HSET", key, "state", "active")
    redis.call("HDEL", key, "pending_since")
    redis.call("ZADD", KEYS[4], ARGV[1], id)
    taken[#taken + 1] = msg
  else
    redis.call("LREM", KEYS[3], 1, id)
  end
end
return taken
"#,
    )
});

/// Success without retention: the task is deleted. KEYS: active, lease,
/// task, processed (day), processed (total), [lock]. ARGV: id, counter
/// expiry, MaxInt64.
pub(crate) static DONE: LazyLock<Script> = LazyLock::new(|| {
    with_counters(
        r#"
if not leave_active(KEYS[1], KEYS[2], ARGV[1]) then return redis.error_reply("NOT FOUND") end
if redis.call("DEL", KEYS[3]) == 0 then return redis.error_reply("NOT FOUND") end
count_day(KEYS[4], ARGV[2])
count_totals(ARGV[3], KEYS[5], nil)
release_unique(KEYS[6], ARGV[1])
return redis.status_reply("OK")
"#,
    )
});

/// Success with retention: the task is kept as completed. KEYS: active,
/// lease, completed, task, processed (day), processed (total), [lock].
/// ARGV: id, counter expiry, end of retention (s), msg, MaxInt64.
pub(crate) static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    with_counters(
        r#"
if not leave_active(KEYS[1], KEYS[2], ARGV[1]) then return redis.error_reply("NOT FOUND") end
if redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1]) ~= 1 then return redis.error_reply("INTERNAL") end
redis.call("HSET", KEYS[4], "msg", ARGV[4], "state", "completed")
count_day(KEYS[5], ARGV[2])
count_totals(ARGV[5], KEYS[6], nil)
release_unique(KEYS[7], ARGV[1])
return redis.status_reply("OK")
"#,
    )
});

/// Gives an unfinished task back to the head of its queue (shutdown).
/// KEYS: active, lease, pending, task. ARGV: id, now (ns).
pub(crate) static REQUEUE: LazyLock<Script> = LazyLock::new(|| {
    with_counters(
        r#"
if not leave_active(KEYS[1], KEYS[2], ARGV[1]) then return redis.error_reply("NOT FOUND") end
redis.call("RPUSH", KEYS[3], ARGV[1])
redis.call("HSET", KEYS[4], "state", "pending", "pending_since", ARGV[2])
return redis.status_reply("OK")
"#,
    )
});

/// A failed attempt to try again. KEYS: task, active, lease, retry,
/// processed (day), failed (day), processed, failed. ARGV: id, msg, retry
/// time (s), counter expiry, 1 when it counts as a failure, MaxInt64.
pub(crate) static RETRY: LazyLock<Script> = LazyLock::new(|| {
    with_counters(
        r#"
if not leave_active(KEYS[2], KEYS[3], ARGV[1]) then return redis.error_reply("NOT FOUND") end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "retry")
if tonumber(ARGV[5]) == 1 then
  count_day(KEYS[5], ARGV[4])
  count_day(KEYS[6], ARGV[4])
  count_totals(ARGV[6], KEYS[7], KEYS[8])
end
return redis.status_reply("OK")
"#,
    )
});

/// A failed attempt that ends the task: archived, and the archive trimmed
/// by age and size. KEYS: task, active, lease, archived, processed (day),
/// failed (day), processed, failed. ARGV: id, msg, now (s), oldest kept
/// (s), most kept, counter expiry, MaxInt64, task key prefix.
pub(crate) static ARCHIVE: LazyLock<Script> = LazyLock::new(|| {
    with_counters(
        r#"
if not leave_active(KEYS[2], KEYS[3], ARGV[1]) then return redis.error_reply("NOT FOUND") end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
local function drop(ids)
  for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[8] .. id)
    redis.call("ZREM", KEYS[4], id)
  end
end
drop(redis.call("ZRANGEBYSCORE", KEYS[4], "-inf", ARGV[4]))
drop(redis.call("ZRANGE", KEYS[4], 0, -tonumber(ARGV[5])))
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "archived")
count_day(KEYS[5], ARGV[6])
count_day(KEYS[6], ARGV[6])
count_totals(ARGV[7], KEYS[7], KEYS[8])
return redis.status_reply("OK")
"#,
    )
});

/// Moves up to 100 due tasks from a scheduled or retry zset to the pending
/// list (or to their group). KEYS: source zset, pending. ARGV: now (s),
/// task key prefix, now (ns), group key prefix. Returns how many moved.
pub(crate) static FORWARD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 100)
for _, id in ipairs(due) do
  local key = ARGV[2] .. id
  local group = redis.call("HGET", key, "group")
  redis.call("ZREM", KEYS[1], id)
  if group and group ~= "" then
    redis.call("ZADD", ARGV[4] .. group, ARGV[1], id)
    redis.call("HSET", key, "state", "aggregating")
  else
    redis.call("LPUSH", KEYS[2], id)
    redis.call("HSET", key, "state", "pending", "pending_since", ARGV[3])
  end
end
return #due
"#,
    )
});

/// The messages of tasks whose lease ended before ARGV[1]. KEYS: lease.
/// ARGV: cutoff (s), task key prefix.
pub(crate) static LEASE_EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local found = {}
for _, id in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])) do
  local msg = redis.call("HGET", ARGV[2] .. id, "msg")
  if msg then found[#found + 1] = msg end
end
return found
"#,
    )
});

/// Deletes up to ARGV[3] completed tasks past their retention. KEYS:
/// completed. ARGV: now (s), task key prefix, batch. Returns how many.
pub(crate) static PURGE_COMPLETED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call("DEL", ARGV[2] .. id)
  redis.call("ZREM", KEYS[1], id)
end
return #ids
"#,
    )
});

/// Writes a server's info and its workers, both expiring. KEYS: server
/// key, workers key. ARGV: TTL (s), server info, then task id / worker
/// info pairs.
pub(crate) static WRITE_SERVER_STATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call("SETEX", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
for i = 3, #ARGV - 1, 2 do
  redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call("EXPIRE", KEYS[2], ARGV[1])
return redis.status_reply("OK")
"#,
    )
});

/// Replaces a scheduler's entries, expiring. KEYS: entries list. ARGV: TTL
/// (s), then the entries.
pub(crate) static WRITE_SCHEDULER_ENTRIES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call("DEL", KEYS[1])
for i = 2, #ARGV do
  redis.call("LPUSH", KEYS[1], ARGV[i])
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return redis.status_reply("OK")
"#,
    )
});

/// Records one enqueue of a scheduler entry, keeping the latest ARGV[3].
/// KEYS: history zset. ARGV: time (s), event, most kept.
pub(crate) static RECORD_ENQUEUE_EVENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -tonumber(ARGV[3]))
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
return redis.status_reply("OK")
"#,
    )
});
