//! The in-memory job queue: retries with capped exponential backoff, delayed
//! jobs, a status clients can poll, and workers started with the lifecycle.

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
use platform_ports::jobs::{JobInfo, NewJob};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::JobId;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use state::Jobs;

/// How the in-memory job queue runs its jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryJobQueueSettings {
    /// Jobs run at the same time (worker tasks).
    pub concurrency: usize,
    /// Completed and archived jobs kept for `status`; older ones are forgotten.
    pub history_limit: usize,
    /// How long `stop` waits for active jobs before aborting them.
    pub shutdown_timeout: Duration,
    /// Wait before a failed job's first retry; doubled for each later one.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for MemoryJobQueueSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            history_limit: 10_000,
            shutdown_timeout: Duration::from_secs(30),
            // Close to asynq's first retry (15 s and up), but capped.
            initial_backoff: Duration::from_secs(15),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

/// A job queue held in this process.
///
/// Jobs can be enqueued at any time; they run once `start` has spawned the
/// workers. Due jobs are taken first in first out within a queue, and
/// non-empty queues are served in turn so none starves. `stop` is final:
/// later enqueues fail with [`JobError::Closed`]. Clones share the queue.
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
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError> {
        if self.shared.is_closed() {
            return Err(JobError::Closed);
        }
        let id = JobId::new();
        self.shared.jobs().insert(id, job, Instant::now());
        self.shared.wake.notify_one();
        Ok(id)
    }

    async fn status(&self, id: JobId) -> Result<Option<JobInfo>, JobError> {
        Ok(self.shared.jobs().info(id))
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
