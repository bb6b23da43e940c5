//! The Jobs API's port: queues, their tasks by state, and what an operator
//! may do to them (asynq's Inspector).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;
use crate::jobs::{JobId, JobInfo, JobState};
use crate::model::{Page, PageRequest};

/// What inspecting or managing jobs can fail with.
#[derive(Debug, thiserror::Error)]
pub enum JobAdminError {
    /// No queue of that name has ever had a job.
    #[error("queue `{0}` not found")]
    QueueNotFound(String),
    /// No job with that id in that queue.
    #[error("job `{id}` not found in queue `{queue}`")]
    JobNotFound {
        /// The queue.
        queue: String,
        /// The id.
        id: JobId,
    },
    /// The job's state does not allow the operation (an active job cannot be
    /// archived or deleted, a pending one cannot be run again...).
    #[error("job is {state:?}: {reason}")]
    WrongState {
        /// The job's state.
        state: JobState,
        /// What was refused.
        reason: &'static str,
    },
    /// The queue is already in the asked pause state.
    #[error("queue `{queue}` is already {}", if *.paused { "paused" } else { "running" })]
    AlreadyInState {
        /// The queue.
        queue: String,
        /// Whether it is paused.
        paused: bool,
    },
    /// The cursor was not made by this list.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend failed.
    #[error("job backend failed")]
    Backend(#[source] BoxError),
}

impl JobAdminError {
    /// Wraps any backend error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }
}

/// One queue's sizes and counters (asynq's queue stats).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Queue name.
    pub queue: String,
    /// Whether workers skip it.
    pub paused: bool,
    /// Jobs in every state.
    pub size: u64,
    /// Waiting for a worker.
    pub pending: u64,
    /// Being run.
    pub active: u64,
    /// Waiting for their time.
    pub scheduled: u64,
    /// Waiting for their next attempt.
    pub retry: u64,
    /// Out of retries.
    pub archived: u64,
    /// Succeeded and retained.
    pub completed: u64,
    /// Waiting in asynq groups.
    pub aggregating: u64,
    /// Attempts finished today (UTC), failed ones included.
    pub processed_today: u64,
    /// Attempts failed today (UTC).
    pub failed_today: u64,
    /// Attempts finished in total.
    pub processed_total: u64,
    /// Attempts failed in total.
    pub failed_total: u64,
    /// Age of the oldest pending job.
    #[serde(with = "millis")]
    pub latency: Duration,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Inspects and manages queues and their jobs (the Jobs API).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait JobAdmin: Interface {
    /// Every known queue with its stats, by name.
    ///
    /// # Errors
    /// [`JobAdminError::Backend`].
    async fn queues(&self) -> Result<Vec<QueueStats>, JobAdminError>;

    /// One queue's stats.
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::Backend`].
    async fn queue(&self, queue: &str) -> Result<QueueStats, JobAdminError>;

    /// A page of a queue's jobs in `state`: pending and active oldest first,
    /// scheduled and retry by due time, archived and completed by when they
    /// got there.
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::InvalidCursor`],
    /// [`JobAdminError::Backend`].
    async fn jobs(&self, queue: &str, state: JobState, page: PageRequest) -> Result<Page<JobInfo>, JobAdminError>;

    /// One job.
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::JobNotFound`],
    /// [`JobAdminError::Backend`].
    async fn job(&self, queue: &str, id: &JobId) -> Result<JobInfo, JobAdminError>;

    /// Makes a scheduled, retrying or archived job pending now.
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::JobNotFound`],
    /// [`JobAdminError::WrongState`] (pending or active), [`JobAdminError::Backend`].
    async fn run_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError>;

    /// Archives a job that is not active.
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::JobNotFound`],
    /// [`JobAdminError::WrongState`] (active or already archived), [`JobAdminError::Backend`].
    async fn archive_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError>;

    /// Deletes a job that is not active (and releases its uniqueness lock).
    ///
    /// # Errors
    /// [`JobAdminError::QueueNotFound`], [`JobAdminError::JobNotFound`],
    /// [`JobAdminError::WrongState`] (active), [`JobAdminError::Backend`].
    async fn delete_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError>;

    /// Stops workers from taking the queue's jobs.
    ///
    /// # Errors
    /// [`JobAdminError::AlreadyInState`], [`JobAdminError::Backend`].
    async fn pause_queue(&self, queue: &str) -> Result<(), JobAdminError>;

    /// Lets workers take the queue's jobs again.
    ///
    /// # Errors
    /// [`JobAdminError::AlreadyInState`], [`JobAdminError::Backend`].
    async fn resume_queue(&self, queue: &str) -> Result<(), JobAdminError>;
}

/// The cursor of the page starting at `offset` (asynq pages by offset).
#[must_use]
pub fn offset_cursor(offset: u64) -> String {
    crate::model::encode_cursor(&offset.to_string())
}

/// The offset a cursor made by [`offset_cursor`] starts at (0 without one).
///
/// # Errors
/// [`JobAdminError::InvalidCursor`].
pub fn cursor_offset(cursor: Option<&str>) -> Result<u64, JobAdminError> {
    cursor.map_or(Ok(0), |cursor| {
        crate::model::decode_cursor(cursor)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or(JobAdminError::InvalidCursor)
    })
}
