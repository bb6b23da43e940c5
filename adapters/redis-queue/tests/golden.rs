//! Wire compatibility with asynq, checked on a real Redis: the keys and the
//! protobuf bytes this crate writes, decoded with asynq's field numbers
//! and types by a reader independent of the crate's own structs; a task
//! written the way asynq's Go client writes it is run; a task this crate
//! enqueued and retried reads the way asynq's inspector reads it; cron
//! entries are listed the way asynqmon lists them.

#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use deadpool_redis::redis::{self, AsyncCommands};
use platform_ports::BoxError;
use platform_ports::jobs::{JobHandler, JobId, JobQueue, NewJob, PeriodicTask, Scheduler};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::{Semaphore, mpsc};

use common::{Field, TestDb, decode, encode, eventually, one, queue};

/// Reports each payload; waits for a permit first when gated; fails when told.
struct Probe {
    seen: mpsc::UnboundedSender<Vec<u8>>,
    gate: Option<Arc<Semaphore>>,
    fail: bool,
}

#[async_trait]
impl JobHandler for Probe {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        self.seen.send(payload.to_vec())?;
        if let Some(gate) = &self.gate {
            gate.acquire().await?.forget();
        }
        if self.fail {
            Err("refused on purpose".into())
        } else {
            Ok(())
        }
    }
}

fn probe(gate: Option<Arc<Semaphore>>, fail: bool) -> (Arc<Probe>, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (seen, rx) = mpsc::unbounded_channel();
    (Arc::new(Probe { seen, gate, fail }), rx)
}

async fn received(rx: &mut mpsc::UnboundedReceiver<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_message_keys_and_bytes_are_asynqs() {
    let Some(db) = TestDb::claim("golden_task_message").await else {
        return;
    };
    let mut raw = db.raw().await;
    let q = queue(&db, "golden");
    let deadline = Utc::now() + chrono::Duration::hours(2);
    let id = q
        .enqueue(
            NewJob::new("golden", "notify:email", b"{\"to\":\"a@b.c\"}".to_vec())
                .max_retries(3)
                .timeout(Duration::from_secs(90))
                .deadline(deadline)
                .unique_for(Duration::from_secs(60))
                .retain(Duration::from_secs(3600))
                .with_id(JobId::parse("golden-1").unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(id.as_str(), "golden-1");

    let queues: Vec<String> = raw.smembers("asynq:queues").await.unwrap();
    assert_eq!(queues, ["golden"]);
    let pending: Vec<String> = raw.lrange("asynq:{golden}:pending", 0, -1).await.unwrap();
    assert_eq!(pending, ["golden-1"]);
    let unique_key = "asynq:{golden}:unique:notify:email:".to_owned() + &format!("{:x}", md5_of(b"{\"to\":\"a@b.c\"}"));
    let holder: String = raw.get(&unique_key).await.unwrap();
    assert_eq!(holder, "golden-1");
    let ttl: i64 = raw.ttl(&unique_key).await.unwrap();
    assert!((55..=60).contains(&ttl), "lock ttl {ttl}");

    let hash: HashMap<String, Vec<u8>> = raw.hgetall("asynq:{golden}:t:golden-1").await.unwrap();
    let mut fields: Vec<_> = hash.keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["msg", "pending_since", "state", "unique_key"]);
    assert_eq!(hash["state"], b"pending");
    assert_eq!(hash["unique_key"], unique_key.as_bytes());
    let since: i64 = std::str::from_utf8(&hash["pending_since"]).unwrap().parse().unwrap();
    assert!(
        (Utc::now().timestamp_nanos_opt().unwrap() - since).abs() < 60_000_000_000,
        "unix ns"
    );

    // TaskMessage, by asynq's field numbers and types.
    let msg = decode(&hash["msg"]);
    assert_eq!(one(&msg, 1).text(), "notify:email");
    assert_eq!(one(&msg, 2).bytes(), b"{\"to\":\"a@b.c\"}");
    assert_eq!(one(&msg, 3).text(), "golden-1");
    assert_eq!(one(&msg, 4).text(), "golden");
    assert_eq!(one(&msg, 5).int(), 3);
    assert_eq!(one(&msg, 8).int(), 90);
    assert_eq!(one(&msg, 9).int(), deadline.timestamp());
    assert_eq!(one(&msg, 10).text(), unique_key);
    assert_eq!(one(&msg, 12).int(), 3600);
    // Zero values are not written (proto3): retried, error, last failure, completion, group.
    for absent in [6, 7, 11, 13, 14, 15] {
        assert!(!msg.contains_key(&absent), "field {absent} written: {msg:?}");
    }
    // Byte for byte what Go's proto.Marshal writes (fields in number order).
    let expected = encode(&[
        (1, Field::Bytes(b"notify:email".to_vec())),
        (2, Field::Bytes(b"{\"to\":\"a@b.c\"}".to_vec())),
        (3, Field::Bytes(b"golden-1".to_vec())),
        (4, Field::Bytes(b"golden".to_vec())),
        (5, Field::Varint(3)),
        (8, Field::Varint(90)),
        (9, Field::Varint(u64::try_from(deadline.timestamp()).unwrap())),
        (10, Field::Bytes(unique_key.clone().into_bytes())),
        (12, Field::Varint(3600)),
    ]);
    assert_eq!(hash["msg"], expected);
}

/// MD5 through the crate's own key helper would prove nothing; this is RFC 1321 via the md-5 crate.
fn md5_of(bytes: &[u8]) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(bytes).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_and_worker_state_are_written_as_asynq_writes_them() {
    let Some(db) = TestDb::claim("golden_server_state").await else {
        return;
    };
    let mut raw = db.raw().await;
    let q = queue(&db, "beat");
    let gate = Arc::new(Semaphore::new(0));
    let (handler, mut seen) = probe(Some(gate.clone()), false);
    q.register("golden:hold", handler).unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    let server_id = workers.server_id().unwrap();
    let id = q
        .enqueue(NewJob::new("beat", "golden:hold", b"held".to_vec()))
        .await
        .unwrap();
    received(&mut seen).await;

    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let server_key = format!("asynq:servers:{{{host}:{}:{server_id}}}", std::process::id());
    let workers_key = format!("asynq:workers:{{{host}:{}:{server_id}}}", std::process::id());
    let mut info = Vec::new();
    eventually(Duration::from_secs(5), async || {
        let workers: HashMap<String, Vec<u8>> = raw.hgetall(&workers_key).await.unwrap();
        match workers.get(id.as_str()) {
            Some(worker) => {
                info = worker.clone();
                true
            }
            None => false,
        }
    })
    .await;
    let servers: Vec<(String, f64)> = raw.zrange_withscores("asynq:servers", 0, -1).await.unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].0, server_key);
    let expires = servers[0].1 as i64 - Utc::now().timestamp();
    assert!(
        (0..=2).contains(&expires),
        "server listed until now+{expires}s (ttl = 2 beats)"
    );
    let listed: Vec<String> = raw.zrange("asynq:workers", 0, -1).await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&workers_key));

    let server: Vec<u8> = raw.get(&server_key).await.unwrap();
    let server = decode(&server);
    assert_eq!(one(&server, 1).text(), host);
    assert_eq!(one(&server, 2).int(), i64::from(std::process::id()));
    assert_eq!(one(&server, 3).text(), server_id);
    assert_eq!(one(&server, 4).int(), 4);
    let queue_entry = one(&server, 5).message();
    assert_eq!((one(&queue_entry, 1).text(), one(&queue_entry, 2).int()), ("beat", 1));
    assert!(!server.contains_key(&6), "strict priority is off");
    assert_eq!(one(&server, 7).text(), "active");
    let started = one(&one(&server, 8).message(), 1).int();
    assert!((Utc::now().timestamp() - started) < 60);
    assert_eq!(one(&server, 9).int(), 1);

    let worker = decode(&info);
    assert_eq!(one(&worker, 1).text(), host);
    assert_eq!(one(&worker, 2).int(), i64::from(std::process::id()));
    assert_eq!(one(&worker, 3).text(), server_id);
    assert_eq!(one(&worker, 4).text(), id.as_str());
    assert_eq!(one(&worker, 5).text(), "golden:hold");
    assert_eq!(one(&worker, 6).bytes(), b"held");
    assert_eq!(one(&worker, 7).text(), "beat");
    let start = one(&one(&worker, 8).message(), 1).int();
    let deadline = one(&one(&worker, 9).message(), 1).int();
    assert_eq!(deadline - start, 1800, "asynq's default 30 min timeout");

    // The lease is extended while the handler runs.
    let first: f64 = raw.zscore("asynq:{beat}:lease", id.as_str()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let later: f64 = raw.zscore("asynq:{beat}:lease", id.as_str()).await.unwrap();
    assert!(later > first, "lease {first} not extended ({later})");

    gate.add_permits(1);
    workers.stop().await.unwrap();
    let left: bool = raw.exists(&server_key).await.unwrap();
    assert!(!left, "stop clears the server state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_written_like_asynqs_go_client_is_run() {
    let Some(db) = TestDb::claim("golden_go_client").await else {
        return;
    };
    let mut raw = db.raw().await;
    // Exactly what asynq's client does for Enqueue(NewTask("golang:hello", payload), Queue("golang")).
    let msg = encode(&[
        (1, Field::Bytes(b"golang:hello".to_vec())),
        (2, Field::Bytes(b"{\"from\":\"go\"}".to_vec())),
        (3, Field::Bytes(b"7c9e6679-7425-40de-944b-e07fc1f90ae7".to_vec())),
        (4, Field::Bytes(b"golang".to_vec())),
        (5, Field::Varint(25)),
        (8, Field::Varint(1800)),
    ]);
    let id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    let now_ns = Utc::now().timestamp_nanos_opt().unwrap();
    let _: () = redis::pipe()
        .cmd("SADD")
        .arg("asynq:queues")
        .arg("golang")
        .ignore()
        .cmd("HSET")
        .arg(format!("asynq:{{golang}}:t:{id}"))
        .arg("msg")
        .arg(msg)
        .arg("state")
        .arg("pending")
        .arg("pending_since")
        .arg(now_ns)
        .ignore()
        .cmd("LPUSH")
        .arg("asynq:{golang}:pending")
        .arg(id)
        .ignore()
        .query_async(&mut raw)
        .await
        .unwrap();

    let q = queue(&db, "golang");
    let (handler, mut seen) = probe(None, false);
    q.register("golang:hello", handler).unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    assert_eq!(received(&mut seen).await, b"{\"from\":\"go\"}");
    let day = Utc::now().format("%Y-%m-%d").to_string();
    eventually(Duration::from_secs(5), async || {
        let done: Option<i64> = raw.get(format!("asynq:{{golang}}:processed:{day}")).await.unwrap();
        done == Some(1)
    })
    .await;
    workers.stop().await.unwrap();
    let exists: bool = raw.exists(format!("asynq:{{golang}}:t:{id}")).await.unwrap();
    assert!(!exists, "done without retention deletes the task (asynq's Done)");
    let total: i64 = raw.get("asynq:{golang}:processed").await.unwrap();
    let (active, lease): (i64, i64) = (
        raw.llen("asynq:{golang}:active").await.unwrap(),
        raw.zcard("asynq:{golang}:lease").await.unwrap(),
    );
    assert_eq!((total, active, lease), (1, 0, 0));
    let expiry: i64 = raw.ttl(format!("asynq:{{golang}}:processed:{day}")).await.unwrap();
    assert!(expiry > 89 * 24 * 3600, "daily counters expire after 90 days");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_task_reads_as_asynqs_inspector_reads_it() {
    let Some(db) = TestDb::claim("golden_inspector").await else {
        return;
    };
    let mut raw = db.raw().await;
    let q = queue(&db, "inspect");
    let (handler, mut seen) = probe(None, true);
    q.register("golden:fail", handler).unwrap();
    let later = Utc::now() + chrono::Duration::hours(1);
    let scheduled = q
        .enqueue(NewJob::new("inspect", "golden:later", vec![]).at(later))
        .await
        .unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    let failing = q.enqueue(NewJob::new("inspect", "golden:fail", vec![1])).await.unwrap();
    received(&mut seen).await;
    let task_key = format!("asynq:{{inspect}}:t:{failing}");
    eventually(Duration::from_secs(5), async || {
        let state: Option<String> = raw.hget(&task_key, "state").await.unwrap();
        state.as_deref() == Some("retry")
    })
    .await;
    workers.stop().await.unwrap();

    // GetTaskInfo: HMGET msg state, then the score in the state's zset.
    let (msg, state): (Vec<u8>, String) = redis::cmd("HMGET")
        .arg(&task_key)
        .arg("msg")
        .arg("state")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(state, "retry");
    let msg = decode(&msg);
    assert_eq!(one(&msg, 6).int(), 1, "retried");
    assert_eq!(one(&msg, 7).text(), "refused on purpose");
    let failed_at = one(&msg, 11).int();
    assert!((Utc::now().timestamp() - failed_at).abs() < 30);
    let retry_at: f64 = raw.zscore("asynq:{inspect}:retry", failing.as_str()).await.unwrap();
    let wait = retry_at as i64 - failed_at;
    assert!((1..=3).contains(&wait), "retry {wait}s after the failure (delay 2 s)");
    let scheduled_at: f64 = raw
        .zscore("asynq:{inspect}:scheduled", scheduled.as_str())
        .await
        .unwrap();
    assert_eq!(scheduled_at as i64, later.timestamp());
    let state: String = raw
        .hget(format!("asynq:{{inspect}}:t:{scheduled}"), "state")
        .await
        .unwrap();
    assert_eq!(state, "scheduled");

    // CurrentStats' counters.
    let day = Utc::now().format("%Y-%m-%d").to_string();
    let counters: Vec<Option<i64>> = redis::cmd("MGET")
        .arg(format!("asynq:{{inspect}}:processed:{day}"))
        .arg(format!("asynq:{{inspect}}:failed:{day}"))
        .arg("asynq:{inspect}:processed")
        .arg("asynq:{inspect}:failed")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(counters, [Some(1), Some(1), Some(1), Some(1)]);
    let active: i64 = raw.llen("asynq:{inspect}:active").await.unwrap();
    assert_eq!(active, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_on_two_instances_enqueues_once_per_tick_and_lists_its_entries() {
    let Some(db) = TestDb::claim("golden_cron").await else {
        return;
    };
    let mut raw = db.raw().await;
    let (a, b) = (queue(&db, "cron").scheduler(), queue(&db, "cron").scheduler());
    for scheduler in [&a, &b] {
        scheduler
            .schedule_task(PeriodicTask {
                name: "every-second".into(),
                spec: "* * * * * *".into(),
                task_type: "golden:tick".into(),
                payload: b"tick".to_vec(),
                queue: "cron".into(),
            })
            .await
            .unwrap();
        scheduler.start().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(3600)).await;

    let entries: Vec<String> = raw.zrange("asynq:schedulers", 0, -1).await.unwrap();
    assert_eq!(entries.len(), 2, "both instances list their entries: {entries:?}");
    let listed: Vec<Vec<u8>> = raw.lrange(&entries[0], 0, -1).await.unwrap();
    let entry = decode(&listed[0]);
    assert_eq!(one(&entry, 2).text(), "* * * * * *");
    assert_eq!(one(&entry, 3).text(), "golden:tick");
    assert_eq!(one(&entry, 4).bytes(), b"tick");
    assert_eq!(one(&entry, 5).text(), "Queue(\"cron\")");
    assert!(one(&one(&entry, 6).message(), 1).int() >= Utc::now().timestamp());

    for scheduler in [&a, &b] {
        scheduler.stop().await.unwrap();
    }
    let ids: Vec<String> = raw.lrange("asynq:{cron}:pending", 0, -1).await.unwrap();
    assert!((3..=4).contains(&ids.len()), "one task per tick in 3.6 s: {ids:?}");
    let mut ticks: Vec<i64> = ids
        .iter()
        .map(|id| id.strip_prefix("cron:every-second:").unwrap().parse().unwrap())
        .collect();
    ticks.sort_unstable();
    ticks.dedup();
    assert_eq!(ticks.len(), ids.len(), "a tick enqueued twice: {ids:?}");
    assert!(
        ticks.windows(2).all(|w| w[1] - w[0] == 1),
        "a tick was missed: {ticks:?}"
    );
    let gone: Vec<String> = raw.zrange("asynq:schedulers", 0, -1).await.unwrap();
    assert!(gone.is_empty(), "stop removes the entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_priority_drains_the_higher_queue_first() {
    let Some(db) = TestDb::claim("golden_priority").await else {
        return;
    };
    let mut settings = common::settings(&db.url, &[("high", 6), ("low", 1)]);
    settings.strict_priority = true;
    settings.concurrency = 1;
    let q = platform_adapter_redis_queue::RedisQueue::connect(settings).unwrap();
    let (handler, mut seen) = probe(None, false);
    q.register("golden:order", handler).unwrap();
    for queue in ["low", "low", "high", "high", "high"] {
        q.enqueue(NewJob::new(queue, "golden:order", queue.as_bytes().to_vec()))
            .await
            .unwrap();
    }
    let workers = q.workers();
    workers.start().await.unwrap();
    let mut order = Vec::new();
    for _ in 0..5 {
        order.push(String::from_utf8(received(&mut seen).await).unwrap());
    }
    workers.stop().await.unwrap();
    assert_eq!(order, ["high", "high", "high", "low", "low"]);
}
