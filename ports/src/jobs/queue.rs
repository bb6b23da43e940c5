//! The job queue and the cron scheduler (the seed's `Scheduler`).

use std::sync::Arc;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::jobs::{JobInfo, NewJob};
use crate::model::JobId;

/// What the job queue or scheduler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
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

/// Handles jobs of one task type.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Runs one job; an error schedules a retry with backoff until the
    /// job's retries are spent, then archives it.
    ///
    /// # Errors
    /// Any error: the queue retries.
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError>;
}

/// A durable queue of jobs with retries, and a status clients can poll.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait JobQueue: Interface {
    /// Enqueues a job (the seed's `Enqueue` / `EnqueueWithRetry`).
    ///
    /// # Errors
    /// [`JobError::Closed`], [`JobError::Backend`].
    async fn enqueue(&self, job: NewJob) -> Result<JobId, JobError>;

    /// The job's current status, `None` when unknown (or expired from history).
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

    /// Removes a schedule; returns whether it existed.
    ///
    /// # Errors
    /// [`JobError::Backend`].
    async fn unschedule(&self, name: &str) -> Result<bool, JobError>;
}
