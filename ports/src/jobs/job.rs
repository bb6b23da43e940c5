use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::JobId;

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Queue name (`default`, `critical`...).
    pub queue: String,
    /// Task type the handler is registered under (`email:send`).
    pub task_type: String,
    /// Payload handed to the handler.
    pub payload: Vec<u8>,
    /// Retries after the first failure.
    pub max_retries: u32,
    /// Run no earlier than this.
    pub run_at: Option<DateTime<Utc>>,
    /// Give up a single attempt after this long.
    pub timeout: Option<Duration>,
}

impl NewJob {
    /// A job on `queue` with the default 25 retries (asynq's default).
    pub fn new(queue: impl Into<String>, task_type: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            queue: queue.into(),
            task_type: task_type.into(),
            payload,
            max_retries: 25,
            run_at: None,
            timeout: None,
        }
    }
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker.
    Pending,
    /// Waiting for its `run_at`.
    Scheduled,
    /// A worker has it.
    Active,
    /// Failed, waiting for its next attempt.
    Retry,
    /// Out of retries.
    Archived,
    /// Done.
    Completed,
}

/// A job's status, as a client polls it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// Identity.
    pub id: JobId,
    /// Queue.
    pub queue: String,
    /// Task type.
    pub task_type: String,
    /// State.
    pub state: JobState,
    /// Attempts that failed so far.
    pub retried: u32,
    /// Retry budget.
    pub max_retries: u32,
    /// Last error message.
    pub last_error: Option<String>,
    /// Next run time, when scheduled or retrying.
    pub next_run_at: Option<DateTime<Utc>>,
}
