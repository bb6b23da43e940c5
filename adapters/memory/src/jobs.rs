//! The in-memory job queue with asynq's semantics (retries with asynq's
//! backoff then the archive, uniqueness locks, scheduled jobs, paused
//! queues, retention, daily counters), a status clients can poll, the Jobs
//! API, and workers started with the lifecycle.

mod admin;
mod state;
mod worker;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::jobs::{JobError, JobHandler, JobQueue};
use platform_ports::jobs::{JobId, JobInfo, NewJob, RetryDelay};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use state::Jobs;

/// How the in-memory job queue runs its jobs.
#[derive(Clone, Debug)]
pub struct MemoryJobQueueSettings {
    /// Jobs run at the same time (worker tasks).
    pub concurrency: usize,
    /// Archived jobs kept (asynq: 10,000); the oldest beyond are forgotten.
    pub history_limit: usize,
    /// How long `stop` waits for active jobs before aborting them.
    pub shutdown_timeout: Duration,
    /// The wait before a failed job's next attempt (asynq's formula by default).
    pub retry_delay: RetryDelay,
    /// How long a job that does not say is kept after it succeeds.
    pub default_retention: Duration,
}

impl Default for MemoryJobQueueSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            history_limit: 10_000,
            shutdown_timeout: Duration::from_secs(30),
            retry_delay: RetryDelay::asynq(),
            default_retention: Duration::ZERO,
        }
    }
}

/// A job queue held in this process.
///
/// Jobs can be enqueued at any time; they run once `start` has spawned the
/// workers. Due jobs are taken first in first out within a queue, and
/// non-empty, unpaused queues are served in turn so none starves. `stop` is
/// final: later enqueues fail with [`JobError::Closed`]. Clones share the queue.
#[derive(Clone, shaku::Component)]
#[shaku(interface = JobQueue)]
pub struct MemoryJobQueue {
    /// Concurrency, history size, shutdown timeout and retry backoff.
    #[shaku(default)]
    settings: MemoryJobQueueSettings,
    #[shaku(force_default)]
    shared: Arc<Shared>,
}

/// What the queue and its workers share.
#[derive(Default)]
struct Shared {
    jobs: Mutex<Jobs>,
    handlers: RwLock<HashMap<String, Arc<dyn JobHandler>>>,
    /// Wakes idle workers when a job is added or falls due sooner.
    wake: Notify,
    closed: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn jobs(&self) -> MutexGuard<'_, Jobs> {
        // Every change to `Jobs` is completed before the guard drops, so a
        // panic elsewhere cannot leave it half-written.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handler(&self, task_type: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(task_type)
            .cloned()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Default for MemoryJobQueue {
    fn default() -> Self {
        Self::new(MemoryJobQueueSettings::default())
    }
}

impl MemoryJobQueue {
    /// An empty queue with these settings; no worker runs until `start`.
    #[must_use]
    pub fn new(settings: MemoryJobQueueSettings) -> Self {
        Self {
            settings,
            shared: Arc::default(),
        }
    }
}

#[async_trait]
impl JobQueue for MemoryJobQueue {
    async fn enqueue(&self, mut job: NewJob) -> Result<JobId, JobError> {
        if self.shared.is_closed() {
            return Err(JobError::Closed);
        }
        job.validate().map_err(|(field, reason)| JobError::Invalid {
            field,
            reason: reason.to_owned(),
        })?;
        let id = job.id.take().unwrap_or_default();
        let retention = self.settings.default_retention;
        self.shared.jobs().insert(id.clone(), job, retention, Instant::now())?;
        self.shared.wake.notify_one();
        Ok(id)
    }

    async fn status(&self, id: JobId) -> Result<Option<JobInfo>, JobError> {
        let mut jobs = self.shared.jobs();
        jobs.expire(Instant::now());
        Ok(jobs.info(&id))
    }

    fn register(&self, task_type: &str, handler: Arc<dyn JobHandler>) -> Result<(), JobError> {
        match self
            .shared
            .handlers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(task_type.to_owned())
        {
            Entry::Occupied(_) => Err(JobError::AlreadyRegistered(task_type.to_owned())),
            Entry::Vacant(slot) => {
                slot.insert(handler);
                Ok(())
            }
        }
    }
}

#[async_trait]
impl BackgroundService for MemoryJobQueue {
    fn name(&self) -> &'static str {
        "memory job queue"
    }

    /// Spawns the workers; calling it again while they run does nothing.
    async fn start(&self) -> Result<(), BoxError> {
        if self.shared.is_closed() {
            return Err(JobError::Closed.into());
        }
        let runtime = tokio::runtime::Handle::try_current()?;
        let mut workers = self.shared.workers.lock().unwrap_or_else(PoisonError::into_inner);
        if workers.is_empty() {
            let count = self.settings.concurrency.max(1);
            for _ in 0..count {
                workers.push(runtime.spawn(worker::run(self.shared.clone(), self.settings.clone())));
            }
            tracing::info!(workers = count, "job queue started");
        }
        Ok(())
    }

    /// Refuses new jobs, lets active ones finish for up to the shutdown
    /// timeout, then aborts the rest and puts their jobs back as pending.
    async fn stop(&self) -> Result<(), BoxError> {
        self.shared.closed.store(true, Ordering::SeqCst);
        // Idle workers have their wake-up registered before they check the flag.
        self.shared.wake.notify_waiters();
        let workers = std::mem::take(&mut *self.shared.workers.lock().unwrap_or_else(PoisonError::into_inner));
        let started = Instant::now();
        let mut aborted = 0usize;
        for mut worker in workers {
            let left = self.settings.shutdown_timeout.saturating_sub(started.elapsed());
            if tokio::time::timeout(left, &mut worker).await.is_err() {
                worker.abort();
                // Wait for the abort so the job it held is no longer running.
                let _ = worker.await;
                aborted += 1;
            }
        }
        if aborted == 0 {
            return Ok(());
        }
        self.shared.jobs().requeue_active();
        let timeout = self.settings.shutdown_timeout;
        tracing::warn!(aborted, ?timeout, "job queue workers did not finish in time");
        Err(format!("{aborted} job worker(s) aborted after {timeout:?}").into())
    }
}

#[cfg(test)]
mod tests;
