use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use platform_ports::BoxError;
use platform_ports::jobs::{JobError, JobHandler, JobQueue};
use platform_ports::jobs::{JobId, JobInfo, JobState, NewJob, RetryDelay};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, timeout};

use super::{MemoryJobQueue, MemoryJobQueueSettings};

const WAIT: Duration = Duration::from_secs(5);

fn fast_settings() -> MemoryJobQueueSettings {
    MemoryJobQueueSettings {
        concurrency: 2,
        history_limit: 100,
        shutdown_timeout: Duration::from_secs(2),
        retry_delay: RetryDelay::fixed(Duration::from_millis(5)),
        default_retention: Duration::ZERO,
    }
}

/// Reports each payload it handles; fails the first `failures` attempts;
/// waits for a permit first when gated.
struct Probe {
    done: mpsc::UnboundedSender<Vec<u8>>,
    attempts: AtomicU32,
    failures: u32,
    gate: Option<Arc<Semaphore>>,
}

fn probe(failures: u32, gate: Option<Arc<Semaphore>>) -> (Arc<Probe>, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (done, rx) = mpsc::unbounded_channel();
    (
        Arc::new(Probe {
            done,
            attempts: AtomicU32::new(0),
            failures,
            gate,
        }),
        rx,
    )
}

#[async_trait]
impl JobHandler for Probe {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        if let Some(gate) = &self.gate {
            gate.acquire().await?.forget();
        }
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt <= self.failures {
            return Err(format!("attempt {attempt} failed").into());
        }
        self.done.send(payload.to_vec())?;
        Ok(())
    }
}

/// A job kept an hour after it succeeds, so its completion can be seen.
fn job(payload: &[u8], max_retries: u32) -> NewJob {
    NewJob::new("default", "notify:email", payload.to_vec())
        .max_retries(max_retries)
        .retain(Duration::from_secs(3600))
}

async fn started(settings: MemoryJobQueueSettings) -> MemoryJobQueue {
    let queue = MemoryJobQueue::new(settings);
    queue.start().await.unwrap();
    queue
}

async fn wait_for(queue: &MemoryJobQueue, id: JobId, state: JobState) -> JobInfo {
    timeout(WAIT, async {
        loop {
            if let Some(info) = queue.status(id.clone()).await.unwrap()
                && info.state == state
            {
                return info;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("job never reached {state:?}: {:?}", queue.shared.jobs().info(&id)))
}

#[tokio::test]
async fn a_job_runs_and_completes() {
    let queue = started(fast_settings()).await;
    let (handler, mut done) = probe(0, None);
    queue.register("notify:email", handler).unwrap();
    let id = queue.enqueue(job(b"hello", 3)).await.unwrap();

    assert_eq!(timeout(WAIT, done.recv()).await.unwrap().unwrap(), b"hello");
    let info = wait_for(&queue, id, JobState::Completed).await;
    assert_eq!((info.retried, info.last_error, info.next_run_at), (0, None, None));
    assert!(info.completed_at.is_some());
    assert_eq!(
        (info.queue.as_str(), info.task_type.as_str(), info.max_retries),
        ("default", "notify:email", 3)
    );
    queue.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_job_is_retried_until_it_succeeds() {
    let queue = started(fast_settings()).await;
    let (handler, _done) = probe(2, None);
    queue.register("notify:email", handler.clone()).unwrap();
    let id = queue.enqueue(job(b"x", 5)).await.unwrap();

    let info = wait_for(&queue, id, JobState::Completed).await;
    assert_eq!(info.retried, 2);
    assert_eq!(info.last_error.as_deref(), Some("attempt 2 failed"));
    assert_eq!(handler.attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_retrying_job_shows_when_it_runs_next() {
    let settings = MemoryJobQueueSettings {
        retry_delay: RetryDelay::fixed(Duration::from_secs(60)),
        ..fast_settings()
    };
    let queue = started(settings).await;
    let (handler, _done) = probe(u32::MAX, None);
    queue.register("notify:email", handler).unwrap();
    let before = Utc::now();
    let id = queue.enqueue(job(b"x", 5)).await.unwrap();

    let info = wait_for(&queue, id, JobState::Retry).await;
    assert_eq!(info.retried, 1);
    assert_eq!(info.last_error.as_deref(), Some("attempt 1 failed"));
    let next = info.next_run_at.expect("a retrying job has a next run time");
    assert!(next >= before + chrono::Duration::seconds(60) && next <= Utc::now() + chrono::Duration::seconds(60));
    // Stopping does not wait for retries that are not due.
    timeout(Duration::from_secs(1), queue.stop()).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_job_out_of_retries_is_archived() {
    let queue = started(fast_settings()).await;
    let (handler, _done) = probe(u32::MAX, None);
    queue.register("notify:email", handler.clone()).unwrap();
    let id = queue.enqueue(job(b"x", 2)).await.unwrap();

    let info = wait_for(&queue, id, JobState::Archived).await;
    assert_eq!(
        info.retried, 2,
        "two retries counted; the last failure archives (asynq)"
    );
    assert_eq!(info.last_error.as_deref(), Some("attempt 3 failed"));
    assert_eq!(info.next_run_at, None);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(
        handler.attempts.load(Ordering::SeqCst),
        3,
        "an archived job must not run again"
    );
}

#[tokio::test]
async fn an_unknown_task_type_fails_like_an_error() {
    let queue = started(fast_settings()).await;
    let id = queue
        .enqueue(NewJob {
            max_retries: 1,
            ..NewJob::new("default", "nobody:home", vec![])
        })
        .await
        .unwrap();
    let info = wait_for(&queue, id, JobState::Archived).await;
    assert_eq!(info.retried, 1);
    assert_eq!(
        info.last_error.as_deref(),
        Some("handler not found for task \"nobody:home\"")
    );
}

struct Sleeper;

#[async_trait]
impl JobHandler for Sleeper {
    async fn handle(&self, _payload: &[u8]) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(())
    }
}

#[tokio::test]
async fn an_attempt_longer_than_its_timeout_fails() {
    let queue = started(fast_settings()).await;
    queue.register("slow", Arc::new(Sleeper)).unwrap();
    let new = NewJob {
        max_retries: 0,
        timeout: Some(Duration::from_millis(20)),
        ..NewJob::new("default", "slow", vec![])
    };
    let id = queue.enqueue(new).await.unwrap();
    let info = wait_for(&queue, id, JobState::Archived).await;
    assert_eq!(info.last_error.as_deref(), Some("context deadline exceeded"));
}

#[tokio::test]
async fn a_job_with_a_future_run_at_waits_for_it() {
    let queue = started(fast_settings()).await;
    let (handler, mut done) = probe(0, None);
    queue.register("notify:email", handler).unwrap();
    let enqueued = Instant::now();
    let run_at = Utc::now() + chrono::Duration::milliseconds(150);
    let id = queue
        .enqueue(NewJob {
            run_at: Some(run_at),
            ..job(b"later", 0)
        })
        .await
        .unwrap();

    let info = queue.status(id.clone()).await.unwrap().unwrap();
    assert_eq!((info.state, info.next_run_at), (JobState::Scheduled, Some(run_at)));
    // A job due now is not held up behind the scheduled one.
    queue.enqueue(job(b"now", 0)).await.unwrap();
    assert_eq!(timeout(WAIT, done.recv()).await.unwrap().unwrap(), b"now");

    assert_eq!(timeout(WAIT, done.recv()).await.unwrap().unwrap(), b"later");
    assert!(
        enqueued.elapsed() >= Duration::from_millis(140),
        "ran after {:?}",
        enqueued.elapsed()
    );
    wait_for(&queue, id, JobState::Completed).await;
}

#[tokio::test]
async fn status_follows_a_job_from_pending_to_completed() {
    let queue = MemoryJobQueue::new(fast_settings());
    let gate = Arc::new(Semaphore::new(0));
    let (handler, _done) = probe(0, Some(gate.clone()));
    queue.register("notify:email", handler).unwrap();
    let id = queue.enqueue(job(b"x", 0)).await.unwrap();
    assert_eq!(
        queue.status(id.clone()).await.unwrap().unwrap().state,
        JobState::Pending
    );
    assert_eq!(queue.status(JobId::new()).await.unwrap(), None);

    queue.start().await.unwrap();
    wait_for(&queue, id.clone(), JobState::Active).await;
    gate.add_permits(1);
    wait_for(&queue, id, JobState::Completed).await;
}

#[tokio::test]
async fn stop_waits_for_active_jobs_then_refuses_new_ones() {
    let queue = started(fast_settings()).await;
    let gate = Arc::new(Semaphore::new(0));
    let (handler, _done) = probe(0, Some(gate.clone()));
    queue.register("notify:email", handler).unwrap();
    let id = queue.enqueue(job(b"x", 0)).await.unwrap();
    wait_for(&queue, id.clone(), JobState::Active).await;

    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate.add_permits(1);
    });
    queue.stop().await.unwrap();
    assert_eq!(queue.status(id).await.unwrap().unwrap().state, JobState::Completed);
    releaser.await.unwrap();

    assert!(matches!(queue.enqueue(job(b"y", 0)).await, Err(JobError::Closed)));
    assert!(queue.start().await.is_err());
}

#[tokio::test]
async fn stop_aborts_a_job_that_outlives_the_timeout() {
    let queue = started(MemoryJobQueueSettings {
        shutdown_timeout: Duration::from_millis(50),
        ..fast_settings()
    })
    .await;
    queue.register("slow", Arc::new(Sleeper)).unwrap();
    let id = queue.enqueue(NewJob::new("default", "slow", vec![])).await.unwrap();
    wait_for(&queue, id.clone(), JobState::Active).await;

    assert!(timeout(WAIT, queue.stop()).await.unwrap().is_err());
    assert_eq!(queue.status(id).await.unwrap().unwrap().state, JobState::Pending);
}

#[tokio::test]
async fn the_archive_keeps_only_the_latest_jobs() {
    let queue = started(MemoryJobQueueSettings {
        history_limit: 2,
        concurrency: 1,
        ..fast_settings()
    })
    .await;
    let (handler, _done) = probe(u32::MAX, None);
    queue.register("notify:email", handler).unwrap();
    let mut ids = Vec::new();
    for n in 0..5u8 {
        ids.push(queue.enqueue(job(&[n], 0)).await.unwrap());
    }
    wait_for(&queue, ids[4].clone(), JobState::Archived).await;
    for old in &ids[..3] {
        assert_eq!(queue.status(old.clone()).await.unwrap(), None);
    }
    assert_eq!(
        queue.status(ids[3].clone()).await.unwrap().unwrap().state,
        JobState::Archived
    );
}

#[tokio::test]
async fn a_job_without_retention_is_forgotten_once_done() {
    let queue = started(fast_settings()).await;
    let (handler, mut done) = probe(0, None);
    queue.register("notify:email", handler).unwrap();
    let id = queue.enqueue(job(b"x", 0).retain(Duration::ZERO)).await.unwrap();
    timeout(WAIT, done.recv()).await.unwrap().unwrap();
    timeout(WAIT, async {
        while queue.status(id.clone()).await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn queues_take_turns() {
    let queue = MemoryJobQueue::new(MemoryJobQueueSettings {
        concurrency: 1,
        ..fast_settings()
    });
    let (handler, mut done) = probe(0, None);
    queue.register("notify:email", handler).unwrap();
    for name in ["low", "low", "low", "critical", "critical"] {
        queue
            .enqueue(NewJob::new(name, "notify:email", name.as_bytes().to_vec()))
            .await
            .unwrap();
    }
    queue.start().await.unwrap();
    let mut order = Vec::new();
    for _ in 0..5 {
        order.push(String::from_utf8(timeout(WAIT, done.recv()).await.unwrap().unwrap()).unwrap());
    }
    assert_eq!(order, ["critical", "low", "critical", "low", "low"]);
}

#[tokio::test]
async fn a_task_type_has_one_handler() {
    let queue = MemoryJobQueue::default();
    queue.register("notify:email", probe(0, None).0).unwrap();
    assert!(
        matches!(queue.register("notify:email", probe(0, None).0), Err(JobError::AlreadyRegistered(t)) if t == "notify:email")
    );
}
