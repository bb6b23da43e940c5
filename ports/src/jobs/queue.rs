//! The job queue and the cron scheduler (the seed's `Scheduler`).

use std::sync::Arc;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::jobs::{JobId, JobInfo, NewJob};

/// What the job queue or scheduler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A field of the job is invalid.
    #[error("invalid job: `{field}` {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A job with the same queue, type and payload holds the uniqueness lock
    /// (asynq's `ErrDuplicateTask`).
    #[error("a duplicate job holds the uniqueness lock")]
    Duplicate,
    /// A job with this id already exists (asynq's `ErrTaskIDConflict`).
    #[error("a job with id `{0}` already exists")]
    IdConflict(JobId),
    /// The cron expression does not parse.
    #[error("invalid cron expression `{spec}`: {reason}")]
    InvalidCron {
        /// The expression.
        spec: String,
        /// Why it was refused.
        reason: String,
    },
    /// A handler is already registered for this task type or name.
    #[error("`{0}` is already registered")]
    AlreadyRegistered(String),
    /// The queue or scheduler is shut down.
    #[error("job queue is closed")]
    Closed,
    /// The backend failed.
    #[error("job backend failed")]
    Backend(#[source] BoxError),
}

impl JobError {
    /// Wraps any backend error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }
}

/// Handles jobs of one task type.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Runs one job. An error retries it with backoff until its retries are
    /// spent, then archives it with the error's text; a
    /// [`SkipRetry`](crate::jobs::SkipRetry) inside the error archives it at
    /// once and a [`RevokeTask`](crate::jobs::RevokeTask) drops it.
    ///
    /// # Errors
    /// Any error: the queue retries.
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError>;
}

/// A durable queue of jobs with retries, and a status clients can poll.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait JobQueue: Interface {
    /// Enqueues a job (the seed's `Enqueue` / `EnqueueWithRetry`): pending
    /// now, or scheduled when `run_at` is in the future.
    ///
    /// # Errors
    /// [`JobError::Invalid`], [`JobError::Duplicate`], [`JobError::IdConflict`],
    /// [`JobError::Closed`], [`JobError::Backend`].
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError>;

    /// The job's current status, `None` when unknown (done without
    /// retention, deleted, or expired from history).
    ///
    /// # Errors
    /// [`JobError::Backend`].
    async fn status(&self, id: JobId) -> Result<Option<JobInfo>, JobError>;

    /// Registers the handler for a task type; workers start with the lifecycle.
    ///
    /// # Errors
    /// [`JobError::AlreadyRegistered`].
    fn register(&self, task_type: &str, handler: Arc<dyn JobHandler>) -> Result<(), JobError>;
}

/// A job run on a cron schedule.
#[async_trait]
pub trait CronJob: Send + Sync {
    /// Runs once per tick.
    ///
    /// # Errors
    /// Any error: logged and reported to the error bus; the next tick runs as usual.
    async fn run(&self) -> Result<(), BoxError>;
}

/// A task enqueued on a cron schedule (`scheduler.cron` in configuration):
/// each tick enqueues one job of `task_type` whose handler is registered on
/// the job queue like any other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodicTask {
    /// Unique name of the schedule.
    pub name: String,
    /// Cron expression: six fields with seconds, five without, or `@hourly`...
    pub spec: String,
    /// Task type to enqueue (`auth:purge_expired_tokens`).
    pub task_type: String,
    /// Payload of every enqueued job.
    pub payload: Vec<u8>,
    /// Queue the jobs go to.
    pub queue: String,
}

/// Runs jobs on cron schedules (the seed's `Cron`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Scheduler: Interface {
    /// Runs `job` on `spec` (six fields with seconds, or five without) under
    /// a unique `name`. With several instances, each tick runs once.
    ///
    /// # Errors
    /// [`JobError::InvalidCron`], [`JobError::AlreadyRegistered`], [`JobError::Backend`].
    async fn schedule(&self, name: &str, spec: &str, job: Arc<dyn CronJob>) -> Result<(), JobError>;

    /// Enqueues `task` on its schedule. With several instances, each tick
    /// enqueues one job.
    ///
    /// # Errors
    /// [`JobError::InvalidCron`], [`JobError::Invalid`] (a blank type or
    /// queue), [`JobError::AlreadyRegistered`], [`JobError::Backend`].
    async fn schedule_task(&self, task: PeriodicTask) -> Result<(), JobError>;

    /// Removes a schedule; returns whether it existed.
    ///
    /// # Errors
    /// [`JobError::Backend`].
    async fn unschedule(&self, name: &str) -> Result<bool, JobError>;
}
