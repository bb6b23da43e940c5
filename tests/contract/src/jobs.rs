//! The job queue: enqueue and run, retries with backoff then the archive,
//! uniqueness, scheduled jobs, paused queues, status by id, retention and
//! the Jobs API, with asynq's semantics.
//!
//! Each check gets a [`JobsUnderTest`] whose queue name is its own and
//! whose workers serve that queue, with short intervals (a retry delay of
//! [`JobsUnderTest::retry_delay`], sub-second polling) so no check takes
//! more than a few seconds. Checks start the workers and stop them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use platform_ports::BoxError;
use platform_ports::jobs::{JobAdmin, JobAdminError, JobError, JobHandler, JobId, JobInfo, JobQueue, JobState};
use platform_ports::jobs::{NewJob, SkipRetry};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::PageRequest;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

/// A queue implementation, ready for one check.
pub struct JobsUnderTest {
    /// Enqueue and status.
    pub queue: Arc<dyn JobQueue>,
    /// The Jobs API over the same queue.
    pub admin: Arc<dyn JobAdmin>,
    /// The workers (started and stopped by the check).
    pub workers: Arc<dyn BackgroundService>,
    /// A queue name no other check uses, served by `workers`.
    pub queue_name: String,
    /// The fixed wait between a failure and the next attempt.
    pub retry_delay: Duration,
    /// How late a due job (scheduled, retried) may start beyond its time,
    /// polling included.
    pub slack: Duration,
}

/// Long enough for anything a check waits for.
const WAIT: Duration = Duration::from_secs(15);

/// Records each attempt; fails the first `failures` (a [`SkipRetry`] when `skip`).
struct Recorder {
    attempts: AtomicU32,
    failures: u32,
    skip: bool,
    seen: mpsc::UnboundedSender<(Vec<u8>, Instant)>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen.send((payload.to_vec(), Instant::now()))?;
        if attempt <= self.failures {
            if self.skip {
                return Err(Box::new(SkipRetry(format!("attempt {attempt} refused"))));
            }
            return Err(format!("attempt {attempt} failed").into());
        }
        Ok(())
    }
}

type Seen = mpsc::UnboundedReceiver<(Vec<u8>, Instant)>;

fn recorder(failures: u32, skip: bool) -> (Arc<Recorder>, Seen) {
    let (seen, rx) = mpsc::unbounded_channel();
    let recorder = Arc::new(Recorder {
        attempts: AtomicU32::new(0),
        failures,
        skip,
        seen,
    });
    (recorder, rx)
}

async fn next(seen: &mut Seen) -> (Vec<u8>, Instant) {
    timeout(WAIT, seen.recv())
        .await
        .expect("the handler was not called in time")
        .expect("handler dropped")
}

fn job(t: &JobsUnderTest, task_type: &str, payload: &[u8]) -> NewJob {
    NewJob::new(&t.queue_name, task_type, payload.to_vec())
}

async fn wait_for(t: &JobsUnderTest, id: &JobId, state: JobState) -> JobInfo {
    let deadline = Instant::now() + WAIT;
    loop {
        let info = t.queue.status(id.clone()).await.unwrap();
        if let Some(info) = &info
            && info.state == state
        {
            return info.clone();
        }
        assert!(Instant::now() < deadline, "job {id} never reached {state:?}: {info:?}");
        sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_gone(t: &JobsUnderTest, id: &JobId) {
    let deadline = Instant::now() + WAIT;
    while t.queue.status(id.clone()).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "job {id} was never forgotten");
        sleep(Duration::from_millis(20)).await;
    }
}

/// A job runs; with a retention it stays visible as completed, without
/// one it is forgotten; today's counters count it.
pub async fn jobs_enqueue_and_run(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(0, false);
    t.queue.register("contract:run", handler).unwrap();
    t.workers.start().await.unwrap();

    let kept = t
        .queue
        .enqueue(job(&t, "contract:run", b"kept").retain(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(next(&mut seen).await.0, b"kept");
    let info = wait_for(&t, &kept, JobState::Completed).await;
    assert_eq!(
        (info.queue.as_str(), info.task_type.as_str()),
        (t.queue_name.as_str(), "contract:run")
    );
    assert_eq!(
        (info.payload.as_slice(), info.retried, info.last_error),
        (&b"kept"[..], 0, None)
    );
    assert!(info.completed_at.is_some(), "a completed job says when");
    assert_eq!(info.retention, Duration::from_secs(600));

    let forgotten = t
        .queue
        .enqueue(job(&t, "contract:run", b"gone").retain(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(next(&mut seen).await.0, b"gone");
    wait_gone(&t, &forgotten).await;

    let stats = t.admin.queue(&t.queue_name).await.unwrap();
    assert_eq!((stats.processed_today, stats.failed_today), (2, 0));
    assert_eq!((stats.completed, stats.pending, stats.size), (1, 0, 1));
    t.workers.stop().await.unwrap();
}

/// A failing job is retried after the retry delay each time, then archived
/// with its last error once its retries are spent (asynq: `retried` stays
/// at the budget; every attempt counts as processed and failed).
pub async fn jobs_retry_with_backoff_then_archive(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(u32::MAX, false);
    t.queue.register("contract:fail", handler.clone()).unwrap();
    t.workers.start().await.unwrap();

    let id = t
        .queue
        .enqueue(job(&t, "contract:fail", b"x").max_retries(2))
        .await
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..3 {
        times.push(next(&mut seen).await.1);
    }
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        // Redis stores retry times in whole seconds, so a retry may come up to a second early.
        let earliest = t.retry_delay.saturating_sub(Duration::from_secs(1));
        assert!(gap >= earliest, "retried after {gap:?}, delay {:?}", t.retry_delay);
        assert!(gap <= t.retry_delay + t.slack, "retried after {gap:?}");
    }
    let info = wait_for(&t, &id, JobState::Archived).await;
    assert_eq!(info.retried, 2);
    assert_eq!(info.max_retries, 2);
    assert_eq!(info.last_error.as_deref(), Some("attempt 3 failed"));
    assert!(info.last_failed_at.is_some());
    sleep(t.retry_delay + t.slack).await;
    assert_eq!(
        handler.attempts.load(Ordering::SeqCst),
        3,
        "an archived job must not run again"
    );

    let stats = t.admin.queue(&t.queue_name).await.unwrap();
    assert_eq!((stats.processed_today, stats.failed_today, stats.archived), (3, 3, 1));
    t.workers.stop().await.unwrap();
}

/// A job whose type has no handler fails like asynq's "handler not found":
/// retried, then archived with that error.
pub async fn jobs_unknown_type_is_retried_then_archived(t: JobsUnderTest) {
    t.workers.start().await.unwrap();
    let id = t
        .queue
        .enqueue(job(&t, "contract:nobody", b"").max_retries(1))
        .await
        .unwrap();
    let info = wait_for(&t, &id, JobState::Archived).await;
    assert_eq!(info.retried, 1);
    assert_eq!(
        info.last_error.as_deref(),
        Some("handler not found for task \"contract:nobody\"")
    );
    t.workers.stop().await.unwrap();
}

/// A handler returning `SkipRetry` archives the job at once.
pub async fn jobs_skip_retry_archives_at_once(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(u32::MAX, true);
    t.queue.register("contract:skip", handler).unwrap();
    t.workers.start().await.unwrap();
    let id = t
        .queue
        .enqueue(job(&t, "contract:skip", b"").max_retries(5))
        .await
        .unwrap();
    next(&mut seen).await;
    let info = wait_for(&t, &id, JobState::Archived).await;
    assert_eq!(info.retried, 0);
    assert!(info.last_error.unwrap().contains("attempt 1 refused"));
    t.workers.stop().await.unwrap();
}

/// A unique job refuses a duplicate (same queue, type and payload) until it
/// succeeds; a caller-chosen id is refused while its job is known.
pub async fn jobs_unique_rejects_a_duplicate(t: JobsUnderTest) {
    let ttl = Duration::from_secs(60);
    let first = t
        .queue
        .enqueue(job(&t, "contract:unique", b"same").unique_for(ttl))
        .await
        .unwrap();
    let again = t
        .queue
        .enqueue(job(&t, "contract:unique", b"same").unique_for(ttl))
        .await;
    assert!(matches!(again, Err(JobError::Duplicate)), "{again:?}");
    t.queue
        .enqueue(job(&t, "contract:unique", b"other").unique_for(ttl))
        .await
        .unwrap();
    let short = t
        .queue
        .enqueue(job(&t, "contract:unique", b"x").unique_for(Duration::from_millis(10)))
        .await;
    assert!(
        matches!(
            short,
            Err(JobError::Invalid {
                field: "unique_for",
                ..
            })
        ),
        "{short:?}"
    );

    let chosen = JobId::parse(format!("order-{}", t.queue_name)).unwrap();
    let id = t
        .queue
        .enqueue(job(&t, "contract:unique", b"1").with_id(chosen.clone()))
        .await
        .unwrap();
    assert_eq!(id, chosen);
    let clash = t
        .queue
        .enqueue(job(&t, "contract:unique", b"2").with_id(chosen.clone()))
        .await;
    assert!(
        matches!(&clash, Err(JobError::IdConflict(id)) if *id == chosen),
        "{clash:?}"
    );

    // Success releases the lock.
    let (handler, mut seen) = recorder(0, false);
    t.queue.register("contract:unique", handler).unwrap();
    t.workers.start().await.unwrap();
    for _ in 0..3 {
        next(&mut seen).await;
    }
    wait_gone(&t, &first).await;
    t.queue
        .enqueue(job(&t, "contract:unique", b"same").unique_for(ttl))
        .await
        .unwrap();
    next(&mut seen).await;
    t.workers.stop().await.unwrap();
}

/// A job scheduled for later waits (scheduled, with its time) and runs then.
pub async fn jobs_scheduled_runs_at_its_time(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(0, false);
    t.queue.register("contract:later", handler).unwrap();
    t.workers.start().await.unwrap();
    let run_at = Utc::now() + chrono::Duration::seconds(2);
    let started = Instant::now();
    let id = t
        .queue
        .enqueue(job(&t, "contract:later", b"later").at(run_at))
        .await
        .unwrap();
    let info = t.queue.status(id.clone()).await.unwrap().unwrap();
    assert_eq!(info.state, JobState::Scheduled);
    let next_run = info.next_run_at.expect("a scheduled job has a run time");
    assert!(
        (next_run - run_at).num_milliseconds().abs() < 1000,
        "{next_run} vs {run_at}"
    );

    // A job due now is not held up behind it.
    t.queue.enqueue(job(&t, "contract:later", b"now")).await.unwrap();
    assert_eq!(next(&mut seen).await.0, b"now");
    let (payload, at) = next(&mut seen).await;
    assert_eq!(payload, b"later");
    let waited = at - started;
    // Redis keeps whole seconds, so the job may start up to a second early.
    assert!(waited >= Duration::from_millis(900), "ran after {waited:?}");
    assert!(waited <= Duration::from_secs(2) + t.slack, "ran after {waited:?}");
    t.workers.stop().await.unwrap();
}

/// A paused queue keeps its jobs pending; resumed, they run.
pub async fn jobs_pause_stops_dequeuing(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(0, false);
    t.queue.register("contract:paused", handler).unwrap();
    let id = t.queue.enqueue(job(&t, "contract:paused", b"wait")).await.unwrap();
    t.admin.pause_queue(&t.queue_name).await.unwrap();
    let twice = t.admin.pause_queue(&t.queue_name).await;
    assert!(
        matches!(twice, Err(JobAdminError::AlreadyInState { paused: true, .. })),
        "{twice:?}"
    );
    assert!(t.admin.queue(&t.queue_name).await.unwrap().paused);
    t.workers.start().await.unwrap();

    assert!(
        timeout(t.slack + Duration::from_millis(500), seen.recv())
            .await
            .is_err(),
        "ran while paused"
    );
    assert_eq!(
        t.queue.status(id.clone()).await.unwrap().unwrap().state,
        JobState::Pending
    );

    t.admin.resume_queue(&t.queue_name).await.unwrap();
    assert_eq!(next(&mut seen).await.0, b"wait");
    let again = t.admin.resume_queue(&t.queue_name).await;
    assert!(
        matches!(again, Err(JobAdminError::AlreadyInState { paused: false, .. })),
        "{again:?}"
    );
    t.workers.stop().await.unwrap();
}

/// Status by id: unknown ids are `None`; a pending job shows its options.
pub async fn jobs_status_by_id(t: JobsUnderTest) {
    assert_eq!(t.queue.status(JobId::new()).await.unwrap(), None);
    let deadline = Utc::now() + chrono::Duration::hours(1);
    let id = t
        .queue
        .enqueue(
            job(&t, "contract:status", b"{\"a\":1}")
                .max_retries(7)
                .timeout(Duration::from_secs(90))
                .deadline(deadline),
        )
        .await
        .unwrap();
    let info = t.queue.status(id.clone()).await.unwrap().expect("just enqueued");
    assert_eq!(info.id, id);
    assert_eq!((info.state, info.retried, info.max_retries), (JobState::Pending, 0, 7));
    assert_eq!(info.payload, b"{\"a\":1}");
    assert_eq!(info.timeout, Some(Duration::from_secs(90)));
    assert_eq!(info.deadline.map(|d| d.timestamp()), Some(deadline.timestamp()));
    assert!(info.next_run_at.is_some(), "a pending job runs now");
    assert_eq!((info.last_error, info.completed_at), (None, None));
    assert_eq!(t.admin.job(&t.queue_name, &id).await.unwrap().id, id);
}

/// A completed job is kept for its retention, then forgotten.
pub async fn jobs_retention_expires(t: JobsUnderTest) {
    let (handler, mut seen) = recorder(0, false);
    t.queue.register("contract:kept", handler).unwrap();
    t.workers.start().await.unwrap();
    let id = t
        .queue
        .enqueue(job(&t, "contract:kept", b"").retain(Duration::from_secs(1)))
        .await
        .unwrap();
    next(&mut seen).await;
    wait_for(&t, &id, JobState::Completed).await;
    wait_gone(&t, &id).await;
    t.workers.stop().await.unwrap();
}

/// The Jobs API: stats, pages by state with a cursor, one job, and run
/// now, archive and delete with their state rules.
pub async fn jobs_admin_lists_and_manages(t: JobsUnderTest) {
    let missing = t.admin.queue(&format!("{}-missing", t.queue_name)).await;
    assert!(matches!(missing, Err(JobAdminError::QueueNotFound(_))), "{missing:?}");
    let later = Utc::now() + chrono::Duration::hours(1);
    let mut ids = Vec::new();
    for n in 0..3u8 {
        let at = later + chrono::Duration::seconds(i64::from(n));
        ids.push(t.queue.enqueue(job(&t, "contract:admin", &[n]).at(at)).await.unwrap());
    }
    let stats = t.admin.queue(&t.queue_name).await.unwrap();
    assert_eq!((stats.scheduled, stats.size, stats.paused), (3, 3, false));
    assert!(t.admin.queues().await.unwrap().iter().any(|q| q.queue == t.queue_name));

    let first = t
        .admin
        .jobs(
            &t.queue_name,
            JobState::Scheduled,
            PageRequest::new(Some(2), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(first.items.iter().map(|j| j.id.clone()).collect::<Vec<_>>(), ids[..2]);
    let cursor = first.next_cursor.expect("a second page");
    let second = t
        .admin
        .jobs(
            &t.queue_name,
            JobState::Scheduled,
            PageRequest::new(Some(2), Some(cursor)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(second.items.iter().map(|j| j.id.clone()).collect::<Vec<_>>(), ids[2..]);
    assert_eq!(second.next_cursor, None);
    let bad = t
        .admin
        .jobs(
            &t.queue_name,
            JobState::Scheduled,
            PageRequest::new(None, Some("!!".into())).unwrap(),
        )
        .await;
    assert!(matches!(bad, Err(JobAdminError::InvalidCursor)), "{bad:?}");

    // Run now (into a paused queue, so it stays pending), archive, delete.
    t.admin.pause_queue(&t.queue_name).await.unwrap();
    t.admin.run_job(&t.queue_name, &ids[0]).await.unwrap();
    assert_eq!(
        t.admin.job(&t.queue_name, &ids[0]).await.unwrap().state,
        JobState::Pending
    );
    let pending = t
        .admin
        .jobs(&t.queue_name, JobState::Pending, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 1);
    let rerun = t.admin.run_job(&t.queue_name, &ids[0]).await;
    assert!(
        matches!(
            rerun,
            Err(JobAdminError::WrongState {
                state: JobState::Pending,
                ..
            })
        ),
        "{rerun:?}"
    );

    t.admin.archive_job(&t.queue_name, &ids[1]).await.unwrap();
    assert_eq!(
        t.admin.job(&t.queue_name, &ids[1]).await.unwrap().state,
        JobState::Archived
    );
    let twice = t.admin.archive_job(&t.queue_name, &ids[1]).await;
    assert!(
        matches!(
            twice,
            Err(JobAdminError::WrongState {
                state: JobState::Archived,
                ..
            })
        ),
        "{twice:?}"
    );
    t.admin.run_job(&t.queue_name, &ids[1]).await.unwrap();

    t.admin.delete_job(&t.queue_name, &ids[2]).await.unwrap();
    let gone = t.admin.job(&t.queue_name, &ids[2]).await;
    assert!(matches!(gone, Err(JobAdminError::JobNotFound { .. })), "{gone:?}");
    let stats = t.admin.queue(&t.queue_name).await.unwrap();
    assert_eq!(
        (stats.pending, stats.scheduled, stats.archived, stats.size),
        (2, 0, 0, 2)
    );
}
