//! The Jobs API over Redis (`JobAdmin`): what asynq's Inspector reads and
//! does, over the same keys, so asynqmon and this API always agree.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, Script, Value};
use platform_ports::jobs::{JobAdmin, JobAdminError, JobId, JobInfo, JobState, QueueStats};
use platform_ports::jobs::{cursor_offset, offset_cursor};
use platform_ports::model::{Page, PageRequest};

use crate::broker::{ARCHIVE_LIMIT, Broker, decode};
use crate::error::RedisQueueError;
use crate::keys::{self, QueueKeys};
use crate::proto::TaskMessage;
use crate::queue::RedisQueue;

/// Sizes and counters of one queue, in [`QueueStats`] order. KEYS: pending,
/// active, scheduled, retry, archived, completed, processed (day), failed
/// (day), processed, failed, paused, groups. ARGV: task key prefix, group
/// key prefix.
static STATS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local function number(key)
  return tonumber(redis.call("GET", key) or "0")
end
local pending = redis.call("LLEN", KEYS[1])
local oldest = "0"
if pending > 0 then
  local id = redis.call("LINDEX", KEYS[1], -1)
  oldest = redis.call("HGET", ARGV[1] .. id, "pending_since") or "0"
end
local aggregating = 0
for _, group in ipairs(redis.call("SMEMBERS", KEYS[12])) do
  aggregating = aggregating + redis.call("ZCARD", ARGV[2] .. group)
end
return {pending, redis.call("LLEN", KEYS[2]), redis.call("ZCARD", KEYS[3]), redis.call("ZCARD", KEYS[4]),
  redis.call("ZCARD", KEYS[5]), redis.call("ZCARD", KEYS[6]), aggregating,
  number(KEYS[7]), number(KEYS[8]), number(KEYS[9]), number(KEYS[10]),
  redis.call("EXISTS", KEYS[11]), oldest}
"#,
    )
});

/// One task: message, state, next process time (s, "0" when none). KEYS:
/// task. ARGV: id, now (s), queue key prefix.
static TASK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local msg, state = unpack(redis.call("HMGET", KEYS[1], "msg", "state"))
if not msg then return false end
local next_at = "0"
if state == "scheduled" or state == "retry" then
  next_at = redis.call("ZSCORE", ARGV[3] .. state, ARGV[1]) or "0"
elseif state == "pending" then
  next_at = ARGV[2]
end
return {msg, state, next_at}
"#,
    )
});

/// Messages of a page of a list, as stored (newest first). KEYS: list.
/// ARGV: start, stop, task key prefix.
static LIST_PAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local found = {}
for _, id in ipairs(redis.call("LRANGE", KEYS[1], ARGV[1], ARGV[2])) do
  local msg = redis.call("HGET", ARGV[3] .. id, "msg")
  if msg then found[#found + 1] = msg end
end
return found
"#,
    )
});

/// Messages and scores of a page of a zset. KEYS: zset. ARGV: start, stop,
/// task key prefix.
static ZSET_PAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local found = {}
local page = redis.call("ZRANGE", KEYS[1], ARGV[1], ARGV[2], "WITHSCORES")
for i = 1, #page, 2 do
  local msg = redis.call("HGET", ARGV[3] .. page[i], "msg")
  if msg then
    found[#found + 1] = msg
    found[#found + 1] = page[i + 1]
  end
end
return found
"#,
    )
});

/// Removes a task from the index of its state (shared by the scripts below).
const DETACH: &str = r#"
local function detach(task, id, queue_prefix, group_prefix, groups)
  local state, group = unpack(redis.call("HMGET", task, "state", "group"))
  if state == "pending" then
    redis.call("LREM", queue_prefix .. "pending", 0, id)
  elseif state == "aggregating" then
    redis.call("ZREM", group_prefix .. group, id)
    if redis.call("ZCARD", group_prefix .. group) == 0 then redis.call("SREM", groups, group) end
  else
    redis.call("ZREM", queue_prefix .. state, id)
  end
  return state
end
"#;

fn with_detach(body: &str) -> Script {
    Script::new(&format!("{DETACH}{body}"))
}

/// Makes a task pending now. KEYS: task, pending, groups. ARGV: id, queue
/// key prefix, group key prefix, now (ns). Returns 1, 0 (missing), -1
/// (active), -2 (already pending).
static RUN_TASK: LazyLock<Script> = LazyLock::new(|| {
    with_detach(
        r#"
local state = redis.call("HGET", KEYS[1], "state")
if not state then return 0 end
if state == "active" then return -1 end
if state == "pending" then return -2 end
detach(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[3])
redis.call("LPUSH", KEYS[2], ARGV[1])
redis.call("HSET", KEYS[1], "state", "pending", "pending_since", ARGV[4])
return 1
"#,
    )
});

/// Archives a task that is not active. KEYS: task, archived, groups. ARGV:
/// id, now (s), oldest kept (s), most kept, queue key prefix, group key
/// prefix. Returns 1, 0 (missing), -1 (already archived), -2 (active).
static ARCHIVE_TASK: LazyLock<Script> = LazyLock::new(|| {
    with_detach(
        r#"
local state = redis.call("HGET", KEYS[1], "state")
if not state then return 0 end
if state == "active" then return -2 end
if state == "archived" then return -1 end
detach(KEYS[1], ARGV[1], ARGV[5], ARGV[6], KEYS[3])
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
redis.call("HSET", KEYS[1], "state", "archived")
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[3])
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[4]))
return 1
"#,
    )
});

/// Deletes a task that is not active, releasing its uniqueness lock. KEYS:
/// task, groups. ARGV: id, queue key prefix, group key prefix. Returns 1, 0
/// (missing), -1 (active).
static DELETE_TASK: LazyLock<Script> = LazyLock::new(|| {
    with_detach(
        r#"
local state = redis.call("HGET", KEYS[1], "state")
if not state then return 0 end
if state == "active" then return -1 end
detach(KEYS[1], ARGV[1], ARGV[2], ARGV[3], KEYS[2])
local lock = redis.call("HGET", KEYS[1], "unique_key")
if lock and lock ~= "" and redis.call("GET", lock) == ARGV[1] then redis.call("DEL", lock) end
redis.call("DEL", KEYS[1])
return 1
"#,
    )
});

fn seconds(at: i64) -> Option<DateTime<Utc>> {
    (at > 0).then(|| DateTime::from_timestamp(at, 0)).flatten()
}

/// The status of a task as the ports show it.
pub(crate) fn job_info(message: TaskMessage, state: JobState, next_at: i64) -> JobInfo {
    JobInfo {
        id: JobId::parse(message.id).unwrap_or_default(),
        queue: message.queue,
        task_type: message.r#type,
        payload: message.payload,
        state,
        retried: u32::try_from(message.retried).unwrap_or(0),
        max_retries: u32::try_from(message.retry).unwrap_or(0),
        last_error: (!message.error_msg.is_empty()).then_some(message.error_msg),
        last_failed_at: seconds(message.last_failed_at),
        next_run_at: seconds(next_at),
        completed_at: seconds(message.completed_at),
        timeout: u64::try_from(message.timeout)
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        deadline: seconds(message.deadline),
        retention: Duration::from_secs(u64::try_from(message.retention).unwrap_or(0)),
    }
}

async fn task(broker: &Broker, queue: &str, id: &str) -> Result<Option<JobInfo>, RedisQueueError> {
    let q = QueueKeys::new(queue);
    let key = q.task(id);
    let mut invocation = TASK.prepare_invoke();
    invocation.key(&key).arg(id).arg(Utc::now().timestamp()).arg(q.prefix());
    let found: Option<(Vec<u8>, String, i64)> = broker.link.script(&invocation).await?;
    let Some((msg, state, next_at)) = found else {
        return Ok(None);
    };
    let state = JobState::parse(&state).ok_or_else(|| RedisQueueError::corrupt(&key, format!("state `{state}`")))?;
    Ok(Some(job_info(decode(&msg, &key)?, state, next_at)))
}

/// Finds a task by id in whichever queue holds it.
pub(crate) async fn find(broker: &Broker, id: &JobId) -> Result<Option<JobInfo>, RedisQueueError> {
    let queues: Vec<String> = broker.link.query(redis::cmd("SMEMBERS").arg(keys::ALL_QUEUES)).await?;
    if queues.is_empty() {
        return Ok(None);
    }
    let mut pipe = redis::pipe();
    for queue in &queues {
        pipe.cmd("EXISTS").arg(QueueKeys::new(queue).task(id.as_str()));
    }
    let found: Vec<bool> = broker.link.pipeline(&pipe).await?;
    for (queue, exists) in queues.iter().zip(found) {
        if exists {
            return task(broker, queue, id.as_str()).await;
        }
    }
    Ok(None)
}

impl RedisQueue {
    async fn require_queue(&self, queue: &str) -> Result<(), JobAdminError> {
        let known: bool = self
            .core()
            .broker
            .link
            .query(redis::cmd("SISMEMBER").arg(keys::ALL_QUEUES).arg(queue))
            .await?;
        if known {
            Ok(())
        } else {
            Err(JobAdminError::QueueNotFound(queue.to_owned()))
        }
    }

    async fn stats(&self, queue: &str) -> Result<QueueStats, JobAdminError> {
        let q = QueueKeys::new(queue);
        let now = Utc::now();
        let mut invocation = STATS.prepare_invoke();
        for key in [
            q.pending(),
            q.active(),
            q.scheduled(),
            q.retry(),
            q.archived(),
            q.completed(),
            q.processed_on(now),
            q.failed_on(now),
            q.processed_total(),
            q.failed_total(),
            q.paused(),
            q.groups(),
        ] {
            invocation.key(key);
        }
        invocation.arg(q.task_prefix()).arg(q.group_prefix());
        let raw: Vec<Value> = self.core().broker.link.script(&invocation).await?;
        let numbers: Vec<i64> = raw
            .iter()
            .map(redis::from_redis_value_ref::<i64>)
            .collect::<Result<_, _>>()
            .map_err(|err| RedisQueueError::corrupt(q.pending(), err))?;
        let [
            pending,
            active,
            scheduled,
            retry,
            archived,
            completed,
            aggregating,
            pday,
            fday,
            ptotal,
            ftotal,
            paused,
            oldest,
        ] = numbers[..]
        else {
            return Err(RedisQueueError::corrupt(q.pending(), "unexpected stats reply").into());
        };
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let latency = DateTime::from_timestamp_nanos(oldest);
        Ok(QueueStats {
            queue: queue.to_owned(),
            paused: paused == 1,
            size: [pending, active, scheduled, retry, archived, completed, aggregating]
                .into_iter()
                .map(count)
                .sum(),
            pending: count(pending),
            active: count(active),
            scheduled: count(scheduled),
            retry: count(retry),
            archived: count(archived),
            completed: count(completed),
            aggregating: count(aggregating),
            processed_today: count(pday),
            failed_today: count(fday),
            processed_total: count(ptotal),
            failed_total: count(ftotal),
            latency: if oldest > 0 {
                (now - latency).to_std().unwrap_or_default()
            } else {
                Duration::ZERO
            },
        })
    }

    /// Runs a state-changing task script and maps its code.
    async fn change(
        &self,
        queue: &str,
        id: &JobId,
        invocation: &redis::ScriptInvocation<'_>,
        refusals: &[(i64, &'static str)],
    ) -> Result<(), JobAdminError> {
        self.require_queue(queue).await?;
        let code: i64 = self.core().broker.link.script(invocation).await?;
        if code == 1 {
            return Ok(());
        }
        let not_found = || JobAdminError::JobNotFound {
            queue: queue.to_owned(),
            id: id.clone(),
        };
        let reason = refusals
            .iter()
            .find(|(refused, _)| *refused == code)
            .map(|(_, reason)| *reason)
            .ok_or_else(not_found)?;
        let state = task(&self.core().broker, queue, id.as_str())
            .await?
            .ok_or_else(not_found)?
            .state;
        Err(JobAdminError::WrongState { state, reason })
    }
}

#[async_trait]
impl JobAdmin for RedisQueue {
    async fn queues(&self) -> Result<Vec<QueueStats>, JobAdminError> {
        let mut queues: Vec<String> = self
            .core()
            .broker
            .link
            .query(redis::cmd("SMEMBERS").arg(keys::ALL_QUEUES))
            .await?;
        queues.sort();
        let mut stats = Vec::with_capacity(queues.len());
        for queue in queues {
            stats.push(self.stats(&queue).await?);
        }
        Ok(stats)
    }

    async fn queue(&self, queue: &str) -> Result<QueueStats, JobAdminError> {
        self.require_queue(queue).await?;
        self.stats(queue).await
    }

    async fn jobs(&self, queue: &str, state: JobState, page: PageRequest) -> Result<Page<JobInfo>, JobAdminError> {
        let offset = i64::try_from(cursor_offset(page.cursor.as_deref())?).map_err(|_| JobAdminError::InvalidCursor)?;
        self.require_queue(queue).await?;
        let q = QueueKeys::new(queue);
        let limit = i64::from(page.limit);
        // One more than asked, to know whether another page follows.
        let wanted = limit + 1;
        let link = &self.core().broker.link;
        let mut items = Vec::new();
        match state {
            JobState::Pending | JobState::Active => {
                let key = if state == JobState::Pending {
                    q.pending()
                } else {
                    q.active()
                };
                // Lists grow at the head: the oldest tasks are at the tail.
                let mut invocation = LIST_PAGE.prepare_invoke();
                invocation
                    .key(&key)
                    .arg(-(offset + wanted))
                    .arg(-(offset + 1))
                    .arg(q.task_prefix());
                let raw: Vec<Vec<u8>> = link.script(&invocation).await?;
                for msg in raw.iter().rev() {
                    let next_at = if state == JobState::Pending {
                        Utc::now().timestamp()
                    } else {
                        0
                    };
                    items.push(job_info(decode(msg, &key)?, state, next_at));
                }
            }
            JobState::Aggregating => {}
            _ => {
                let key = format!("{}{}", q.prefix(), state.as_str());
                let mut invocation = ZSET_PAGE.prepare_invoke();
                invocation
                    .key(&key)
                    .arg(offset)
                    .arg(offset + wanted - 1)
                    .arg(q.task_prefix());
                let raw: Vec<(Vec<u8>, f64)> = link.script(&invocation).await?;
                for (msg, score) in raw {
                    let due = matches!(state, JobState::Scheduled | JobState::Retry);
                    #[allow(clippy::cast_possible_truncation, reason = "scores are whole Unix seconds")]
                    let next_at = if due { score as i64 } else { 0 };
                    items.push(job_info(decode(&msg, &key)?, state, next_at));
                }
            }
        }
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(Page {
            items,
            next_cursor: more.then(|| offset_cursor(u64::try_from(offset + limit).unwrap_or(u64::MAX))),
        })
    }

    async fn job(&self, queue: &str, id: &JobId) -> Result<JobInfo, JobAdminError> {
        self.require_queue(queue).await?;
        task(&self.core().broker, queue, id.as_str())
            .await?
            .ok_or_else(|| JobAdminError::JobNotFound {
                queue: queue.to_owned(),
                id: id.clone(),
            })
    }

    async fn run_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let q = QueueKeys::new(queue);
        let mut invocation = RUN_TASK.prepare_invoke();
        invocation
            .key(q.task(id.as_str()))
            .key(q.pending())
            .key(q.groups())
            .arg(id.as_str())
            .arg(q.prefix())
            .arg(q.group_prefix())
            .arg(Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX));
        let refusals = [
            (-1, "task is already running"),
            (-2, "task is already in pending state"),
        ];
        self.change(queue, id, &invocation, &refusals).await?;
        self.core().wake.notify_one();
        Ok(())
    }

    async fn archive_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let q = QueueKeys::new(queue);
        let now = Utc::now();
        let mut invocation = ARCHIVE_TASK.prepare_invoke();
        invocation
            .key(q.task(id.as_str()))
            .key(q.archived())
            .key(q.groups())
            .arg(id.as_str())
            .arg(now.timestamp())
            .arg((now - chrono::Duration::days(90)).timestamp())
            .arg(ARCHIVE_LIMIT)
            .arg(q.prefix())
            .arg(q.group_prefix());
        let refusals = [
            (-1, "task is already archived"),
            (-2, "cannot archive task in active state"),
        ];
        self.change(queue, id, &invocation, &refusals).await
    }

    async fn delete_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let q = QueueKeys::new(queue);
        let mut invocation = DELETE_TASK.prepare_invoke();
        invocation
            .key(q.task(id.as_str()))
            .key(q.groups())
            .arg(id.as_str())
            .arg(q.prefix())
            .arg(q.group_prefix());
        self.change(queue, id, &invocation, &[(-1, "cannot delete task in active state")])
            .await
    }

    async fn pause_queue(&self, queue: &str) -> Result<(), JobAdminError> {
        let key = QueueKeys::new(queue).paused();
        let set: Option<String> = self
            .core()
            .broker
            .link
            .query(redis::cmd("SET").arg(key).arg(Utc::now().timestamp()).arg("NX"))
            .await?;
        if set.is_none() {
            return Err(JobAdminError::AlreadyInState {
                queue: queue.to_owned(),
                paused: true,
            });
        }
        Ok(())
    }

    async fn resume_queue(&self, queue: &str) -> Result<(), JobAdminError> {
        let key = QueueKeys::new(queue).paused();
        let deleted: i64 = self.core().broker.link.query(redis::cmd("DEL").arg(key)).await?;
        if deleted == 0 {
            return Err(JobAdminError::AlreadyInState {
                queue: queue.to_owned(),
                paused: false,
            });
        }
        self.core().wake.notify_one();
        Ok(())
    }
}
