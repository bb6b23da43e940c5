//! Nothing is lost: a worker process killed with SIGKILL leaves its task
//! leased; once the lease is over another worker's recoverer takes it back
//! and that worker completes it. A worker stopped while a task outlives the
//! shutdown timeout gives the task back to its queue.

#![allow(clippy::unwrap_used, reason = "test code")]

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis::AsyncCommands;
use platform_ports::BoxError;
use platform_ports::jobs::{JobHandler, JobQueue, JobState, NewJob};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::mpsc;

use common::{TestDb, eventually, queue};

const CHILD_URL: &str = "PLATFORM_TEST_LEASE_CHILD_URL";

/// Reports the task, then works on it for `hold`.
struct Holder {
    hold: Duration,
    seen: mpsc::UnboundedSender<Vec<u8>>,
}

#[async_trait]
impl JobHandler for Holder {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        self.seen.send(payload.to_vec())?;
        tokio::time::sleep(self.hold).await;
        Ok(())
    }
}

fn holder(hold: Duration) -> (Arc<Holder>, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (seen, rx) = mpsc::unbounded_channel();
    (Arc::new(Holder { hold, seen }), rx)
}

/// The worker process the parent test kills: takes the task and holds it
/// forever. Does nothing unless started by that test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by a_killed_workers_task_is_recovered_by_another_worker"]
async fn child_worker_holds_its_task() {
    let Ok(url) = std::env::var(CHILD_URL) else { return };
    let q = platform_adapter_redis_queue::RedisQueue::connect(common::settings(&url, &[("lease", 1)])).unwrap();
    let (handler, mut seen) = holder(Duration::from_secs(3600));
    q.register("lease:hold", handler).unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    seen.recv().await.unwrap();
    println!("HOLDING");
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_task_is_recovered_by_another_worker() {
    let Some(db) = TestDb::claim("lease_kill").await else {
        return;
    };
    let mut raw = db.raw().await;
    let q = queue(&db, "lease");
    let id = q
        .enqueue(NewJob::new("lease", "lease:hold", b"precious".to_vec()).retain(Duration::from_secs(600)))
        .await
        .unwrap();

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_worker_holds_its_task", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_URL, &db.url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let task_key = format!("asynq:{{lease}}:t:{id}");
    eventually(Duration::from_secs(60), async || {
        let state: Option<String> = raw.hget(&task_key, "state").await.unwrap();
        state.as_deref() == Some("active")
    })
    .await;
    // SIGKILL: no shutdown, no requeue; the task stays active and leased.
    child.kill().await.unwrap();
    let killed_at = tokio::time::Instant::now();
    let leased: Option<f64> = raw.zscore("asynq:{lease}:lease", id.as_str()).await.unwrap();
    assert!(leased.is_some(), "the killed worker's task keeps its lease");

    let (handler, mut seen) = holder(Duration::ZERO);
    q.register("lease:hold", handler).unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    let payload = tokio::time::timeout(Duration::from_secs(30), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payload, b"precious");
    // Lease (4 s) + grace (1 s) + retry delay (2 s), give or take the intervals.
    assert!(
        killed_at.elapsed() >= Duration::from_secs(3),
        "recovered after {:?}",
        killed_at.elapsed()
    );
    eventually(Duration::from_secs(10), async || {
        q.status(id.clone())
            .await
            .unwrap()
            .is_some_and(|info| info.state == JobState::Completed)
    })
    .await;
    let info = q.status(id.clone()).await.unwrap().unwrap();
    assert_eq!(info.retried, 1, "the lost attempt counts as a failure");
    assert_eq!(info.last_error.as_deref(), Some("asynq: task lease expired"));
    workers.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_gives_back_a_task_that_outlives_the_shutdown_timeout() {
    let Some(db) = TestDb::claim("lease_stop").await else {
        return;
    };
    let mut raw = db.raw().await;
    let mut settings = common::settings(&db.url, &[("stop", 1)]);
    settings.shutdown_timeout = Duration::from_millis(500);
    let q = platform_adapter_redis_queue::RedisQueue::connect(settings).unwrap();
    let (slow, mut seen) = holder(Duration::from_secs(3600));
    q.register("stop:slow", slow).unwrap();
    let (quick, mut quick_seen) = holder(Duration::from_millis(100));
    q.register("stop:quick", quick).unwrap();
    let workers = q.workers();
    workers.start().await.unwrap();
    let id = q
        .enqueue(NewJob::new("stop", "stop:slow", b"long".to_vec()))
        .await
        .unwrap();
    seen.recv().await.unwrap();
    q.enqueue(NewJob::new("stop", "stop:quick", b"short".to_vec()))
        .await
        .unwrap();
    quick_seen.recv().await.unwrap();

    let stopped = workers.stop().await;
    assert!(stopped.is_err(), "stop reports the task it gave back");
    let info = q.status(id.clone()).await.unwrap().unwrap();
    assert_eq!((info.state, info.retried), (JobState::Pending, 0));
    let pending: Vec<String> = raw.lrange("asynq:{stop}:pending", 0, -1).await.unwrap();
    assert_eq!(pending, [id.to_string()]);
    let active: i64 = raw.llen("asynq:{stop}:active").await.unwrap();
    assert_eq!(active, 0, "the quick task finished within the timeout");
    let failed: Option<i64> = raw.get("asynq:{stop}:failed").await.unwrap();
    assert_eq!(failed, None, "giving back is not a failure");
}
