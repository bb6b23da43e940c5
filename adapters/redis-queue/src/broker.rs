//! asynq's broker operations: each one script (or one pipeline) that moves
//! a task between states exactly as asynq's `rdb` package does.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, ScriptInvocation, Value};
use prost::Message as _;

use crate::error::RedisQueueError;
use crate::keys::{self, QueueKeys};
use crate::link::Link;
use crate::proto::TaskMessage;
use crate::scripts;

/// Daily counters live this long after their first increment (asynq: 90 days).
const STATS_TTL: chrono::Duration = chrono::Duration::days(90);
/// Archived tasks older than this are dropped (asynq: 90 days).
const ARCHIVE_AGE: chrono::Duration = chrono::Duration::days(90);
/// The archive's size bound, as asynq passes it to its trim.
pub(crate) const ARCHIVE_LIMIT: i64 = 10_000;
/// Completed tasks deleted per janitor script call (asynq's batch).
const PURGE_BATCH: i64 = 100;

/// Where a new task goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Placement {
    /// Pending now.
    Now,
    /// Scheduled for this time.
    At(DateTime<Utc>),
}

/// What the enqueue script answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// Written.
    Yes,
    /// A task with that id exists.
    IdConflict,
    /// The uniqueness lock is held.
    Duplicate,
}

/// Decodes a task message read from `key`.
pub(crate) fn decode(bytes: &[u8], key: &str) -> Result<TaskMessage, RedisQueueError> {
    TaskMessage::decode(bytes).map_err(|err| RedisQueueError::corrupt(key, err))
}

fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn stats_expiry(now: DateTime<Utc>) -> i64 {
    (now + STATS_TTL).timestamp()
}

/// The message of a failed attempt: its error and when (asynq keeps both).
fn failed(msg: &TaskMessage, error: &str, now: DateTime<Utc>) -> TaskMessage {
    let mut updated = msg.clone();
    error.clone_into(&mut updated.error_msg);
    updated.last_failed_at = now.timestamp();
    updated
}

/// The keys the retry and archive scripts share: task, active, lease, the
/// target zset, and the day's and total processed and failed counters.
fn failure_keys(invocation: &mut ScriptInvocation<'_>, q: &QueueKeys, id: &str, target: String, now: DateTime<Utc>) {
    invocation
        .key(q.task(id))
        .key(q.active())
        .key(q.lease())
        .key(target)
        .key(q.processed_on(now))
        .key(q.failed_on(now))
        .key(q.processed_total())
        .key(q.failed_total());
}

/// asynq's operations over one Redis.
pub(crate) struct Broker {
    pub(crate) link: Link,
    /// Queues already added to `asynq:queues` by this process.
    published: Mutex<HashSet<String>>,
}

impl Broker {
    pub(crate) fn new(link: Link) -> Self {
        Self {
            link,
            published: Mutex::new(HashSet::new()),
        }
    }

    /// Adds `queue` to `asynq:queues` once per process (as asynq's client does).
    pub(crate) async fn publish_queue(&self, queue: &str) -> Result<(), RedisQueueError> {
        let known = self.published.lock().map(|set| set.contains(queue)).unwrap_or(false);
        if !known {
            let _: i64 = self
                .link
                .query(redis::cmd("SADD").arg(keys::ALL_QUEUES).arg(queue))
                .await?;
            if let Ok(mut set) = self.published.lock() {
                set.insert(queue.to_owned());
            }
        }
        Ok(())
    }

    /// Writes a new task: pending, or scheduled; under a uniqueness lock
    /// when `unique_ttl` is set (the lock key is the message's `unique_key`).
    pub(crate) async fn enqueue(
        &self,
        msg: &TaskMessage,
        placement: Placement,
        unique_ttl: Option<Duration>,
    ) -> Result<Enqueued, RedisQueueError> {
        self.publish_queue(&msg.queue).await?;
        let q = QueueKeys::new(&msg.queue);
        let mut invocation = scripts::ENQUEUE.prepare_invoke();
        invocation.key(q.task(&msg.id));
        let (mode, when) = match placement {
            Placement::Now => {
                invocation.key(q.pending());
                ("pending", nanos(Utc::now()))
            }
            Placement::At(at) => {
                invocation.key(q.scheduled());
                ("scheduled", at.timestamp())
            }
        };
        let ttl = unique_ttl.map_or(0, |ttl| ttl.as_secs());
        if unique_ttl.is_some() {
            invocation.key(&msg.unique_key);
        }
        invocation
            .arg(msg.encode_to_vec())
            .arg(&msg.id)
            .arg(mode)
            .arg(when)
            .arg(ttl);
        let code: i64 = self.link.script(&invocation).await?;
        Ok(match code {
            1 => Enqueued::Yes,
            -1 => Enqueued::Duplicate,
            _ => Enqueued::IdConflict,
        })
    }

    /// Takes up to `count` tasks from `queue` (nothing when it is paused),
    /// leased until `lease_until`.
    pub(crate) async fn dequeue(
        &self,
        queue: &str,
        lease_until: i64,
        count: usize,
    ) -> Result<Vec<TaskMessage>, RedisQueueError> {
        let q = QueueKeys::new(queue);
        let mut invocation = scripts::DEQUEUE.prepare_invoke();
        invocation
            .key(q.pending())
            .key(q.paused())
            .key(q.active())
            .key(q.lease())
            .arg(lease_until)
            .arg(q.task_prefix())
            .arg(count);
        let raw: Vec<Vec<u8>> = self.link.script(&invocation).await?;
        raw.iter().map(|bytes| decode(bytes, &q.pending())).collect()
    }

    /// A success: deleted, or kept as completed for the task's retention.
    pub(crate) async fn succeed(&self, msg: &TaskMessage) -> Result<(), RedisQueueError> {
        let now = Utc::now();
        let q = QueueKeys::new(&msg.queue);
        let mut invocation;
        if msg.retention > 0 {
            let mut completed = msg.clone();
            completed.completed_at = now.timestamp();
            invocation = scripts::COMPLETE.prepare_invoke();
            invocation
                .key(q.active())
                .key(q.lease())
                .key(q.completed())
                .key(q.task(&msg.id))
                .key(q.processed_on(now))
                .key(q.processed_total())
                .arg(&msg.id)
                .arg(stats_expiry(now))
                .arg(now.timestamp().saturating_add(msg.retention))
                .arg(completed.encode_to_vec())
                .arg(i64::MAX);
        } else {
            invocation = scripts::DONE.prepare_invoke();
            invocation
                .key(q.active())
                .key(q.lease())
                .key(q.task(&msg.id))
                .key(q.processed_on(now))
                .key(q.processed_total())
                .arg(&msg.id)
                .arg(stats_expiry(now))
                .arg(i64::MAX);
        }
        if !msg.unique_key.is_empty() {
            invocation.key(&msg.unique_key);
        }
        let () = self.link.script(&invocation).await?;
        Ok(())
    }

    /// Gives a task that never finished back to the head of its queue.
    pub(crate) async fn requeue(&self, msg: &TaskMessage) -> Result<(), RedisQueueError> {
        let q = QueueKeys::new(&msg.queue);
        let mut invocation = scripts::REQUEUE.prepare_invoke();
        invocation
            .key(q.active())
            .key(q.lease())
            .key(q.pending())
            .key(q.task(&msg.id))
            .arg(&msg.id)
            .arg(nanos(Utc::now()));
        let () = self.link.script(&invocation).await?;
        Ok(())
    }

    /// A failed attempt, tried again at `retry_at`; `retried` grows and the
    /// failure counters with it when `is_failure`.
    pub(crate) async fn retry(
        &self,
        msg: &TaskMessage,
        retry_at: DateTime<Utc>,
        error: &str,
        is_failure: bool,
    ) -> Result<(), RedisQueueError> {
        let now = Utc::now();
        let q = QueueKeys::new(&msg.queue);
        let mut updated = failed(msg, error, now);
        if is_failure {
            updated.retried = updated.retried.saturating_add(1);
        }
        let mut invocation = scripts::RETRY.prepare_invoke();
        failure_keys(&mut invocation, &q, &msg.id, q.retry(), now);
        invocation
            .arg(&msg.id)
            .arg(updated.encode_to_vec())
            .arg(retry_at.timestamp())
            .arg(stats_expiry(now))
            .arg(i64::from(is_failure))
            .arg(i64::MAX);
        let () = self.link.script(&invocation).await?;
        Ok(())
    }

    /// A failed attempt that ends the task: archived with its error.
    pub(crate) async fn archive(&self, msg: &TaskMessage, error: &str) -> Result<(), RedisQueueError> {
        let now = Utc::now();
        let q = QueueKeys::new(&msg.queue);
        let mut invocation = scripts::ARCHIVE.prepare_invoke();
        failure_keys(&mut invocation, &q, &msg.id, q.archived(), now);
        invocation
            .arg(&msg.id)
            .arg(failed(msg, error, now).encode_to_vec())
            .arg(now.timestamp())
            .arg((now - ARCHIVE_AGE).timestamp())
            .arg(ARCHIVE_LIMIT)
            .arg(stats_expiry(now))
            .arg(i64::MAX)
            .arg(q.task_prefix());
        let () = self.link.script(&invocation).await?;
        Ok(())
    }

    /// Moves every due scheduled and retry task of `queue` to pending;
    /// returns how many moved.
    pub(crate) async fn forward(&self, queue: &str) -> Result<u64, RedisQueueError> {
        let q = QueueKeys::new(queue);
        let mut moved = 0u64;
        for source in [q.scheduled(), q.retry()] {
            loop {
                let now = Utc::now();
                let mut invocation = scripts::FORWARD.prepare_invoke();
                invocation
                    .key(&source)
                    .key(q.pending())
                    .arg(now.timestamp())
                    .arg(q.task_prefix())
                    .arg(nanos(now))
                    .arg(q.group_prefix());
                let n: u64 = self.link.script(&invocation).await?;
                moved += n;
                if n == 0 {
                    break;
                }
            }
        }
        Ok(moved)
    }

    /// The tasks of `queue` whose lease ended before `cutoff`.
    pub(crate) async fn lease_expired(
        &self,
        queue: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<TaskMessage>, RedisQueueError> {
        let q = QueueKeys::new(queue);
        let mut invocation = scripts::LEASE_EXPIRED.prepare_invoke();
        invocation.key(q.lease()).arg(cutoff.timestamp()).arg(q.task_prefix());
        let raw: Vec<Vec<u8>> = self.link.script(&invocation).await?;
        raw.iter().map(|bytes| decode(bytes, &q.lease())).collect()
    }

    /// Deletes the completed tasks of `queue` past their retention.
    pub(crate) async fn purge_completed(&self, queue: &str) -> Result<u64, RedisQueueError> {
        let q = QueueKeys::new(queue);
        let mut purged = 0;
        loop {
            let mut invocation = scripts::PURGE_COMPLETED.prepare_invoke();
            invocation
                .key(q.completed())
                .arg(Utc::now().timestamp())
                .arg(q.task_prefix())
                .arg(PURGE_BATCH);
            let n: u64 = self.link.script(&invocation).await?;
            purged += n;
            if n == 0 {
                return Ok(purged);
            }
        }
    }

    /// Extends the leases of tasks in hand (`ZADD … XX`, so a lease the
    /// recoverer already took back is not recreated), one round trip.
    pub(crate) async fn extend_leases(
        &self,
        by_queue: &[(String, Vec<String>)],
        until: i64,
    ) -> Result<(), RedisQueueError> {
        if by_queue.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (queue, ids) in by_queue {
            let cmd = pipe.cmd("ZADD").arg(QueueKeys::new(queue).lease()).arg("XX");
            for id in ids {
                cmd.arg(until).arg(id);
            }
            pipe.ignore();
        }
        let () = self.link.pipeline(&pipe).await?;
        Ok(())
    }

    /// Writes a server's info and workers, both listed in the global sets
    /// scored by expiry, as asynq's heartbeat does (two round trips a beat).
    pub(crate) async fn write_server_state(
        &self,
        server_key: &str,
        workers_key: &str,
        info: Vec<u8>,
        workers: Vec<(String, Vec<u8>)>,
        ttl: Duration,
    ) -> Result<(), RedisQueueError> {
        let expires = Utc::now()
            .timestamp()
            .saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        let mut invocation = scripts::WRITE_SERVER_STATE.prepare_invoke();
        invocation.key(server_key).key(workers_key).arg(ttl.as_secs()).arg(info);
        for (id, worker) in workers {
            invocation.arg(id).arg(worker);
        }
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(keys::ALL_SERVERS)
            .arg(expires)
            .arg(server_key)
            .ignore();
        pipe.cmd("ZADD")
            .arg(keys::ALL_WORKERS)
            .arg(expires)
            .arg(workers_key)
            .ignore();
        let _: Value = self.link.script(&invocation).await?;
        let () = self.link.pipeline(&pipe).await?;
        Ok(())
    }

    /// Removes a server's info and workers.
    pub(crate) async fn clear_server_state(&self, server_key: &str, workers_key: &str) -> Result<(), RedisQueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(keys::ALL_SERVERS).arg(server_key).ignore();
        pipe.cmd("ZREM").arg(keys::ALL_WORKERS).arg(workers_key).ignore();
        pipe.cmd("DEL").arg(server_key).arg(workers_key).ignore();
        let () = self.link.pipeline(&pipe).await?;
        Ok(())
    }
}
