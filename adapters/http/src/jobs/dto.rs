//! The JSON the jobs routes write; each derives its OpenAPI schema.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use platform_ports::jobs::{JobInfo, JobState, QueueStats};
use platform_ports::model::rfc3339_micros_opt;
use serde::Serialize;
use utoipa::ToSchema;

/// Where a task is (asynq's task states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TaskState)]
pub(crate) enum TaskStateView {
    Pending,
    Scheduled,
    Active,
    Retry,
    Archived,
    Completed,
    Aggregating,
}

impl From<JobState> for TaskStateView {
    fn from(state: JobState) -> Self {
        // Exhaustive, so a new state cannot reach the wire undocumented.
        match state {
            JobState::Pending => Self::Pending,
            JobState::Scheduled => Self::Scheduled,
            JobState::Active => Self::Active,
            JobState::Retry => Self::Retry,
            JobState::Archived => Self::Archived,
            JobState::Completed => Self::Completed,
            JobState::Aggregating => Self::Aggregating,
        }
    }
}

/// One queue: its size per state and its counters.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Queue)]
pub(crate) struct QueueView {
    /// Queue name.
    #[schema(example = "default")]
    queue: String,
    /// Whether workers skip it.
    paused: bool,
    /// Tasks in every state.
    size: u64,
    pending: u64,
    active: u64,
    scheduled: u64,
    retry: u64,
    archived: u64,
    completed: u64,
    aggregating: u64,
    /// Attempts finished today (UTC), failed ones included.
    processed_today: u64,
    /// Attempts failed today (UTC).
    failed_today: u64,
    processed_total: u64,
    failed_total: u64,
    /// Age of the oldest pending task, in milliseconds.
    latency_ms: u64,
}

impl From<QueueStats> for QueueView {
    fn from(s: QueueStats) -> Self {
        Self {
            queue: s.queue,
            paused: s.paused,
            size: s.size,
            pending: s.pending,
            active: s.active,
            scheduled: s.scheduled,
            retry: s.retry,
            archived: s.archived,
            completed: s.completed,
            aggregating: s.aggregating,
            processed_today: s.processed_today,
            failed_today: s.failed_today,
            processed_total: s.processed_total,
            failed_total: s.failed_total,
            latency_ms: u64::try_from(s.latency.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// One task and where it is.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Task)]
pub(crate) struct TaskView {
    /// The task id (a UUID unless the enqueuer chose one).
    id: String,
    queue: String,
    /// The task type, e.g. `notify:email`.
    #[serde(rename = "type")]
    #[schema(example = "notify:email")]
    task_type: String,
    /// The payload, when it is JSON (the platform's task types all are);
    /// `null` otherwise: read `payload_base64`.
    #[schema(required = true, value_type = Option<Object>)]
    payload: Option<serde_json::Value>,
    /// The payload's bytes, base64 (standard alphabet, padded).
    payload_base64: String,
    state: TaskStateView,
    /// Attempts that failed so far.
    retried: u32,
    /// Retries allowed after the first failure; then the task is archived.
    max_retry: u32,
    /// The last attempt's error.
    #[schema(required = true)]
    last_error: Option<String>,
    /// When the last attempt failed.
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    last_failed_at: Option<DateTime<Utc>>,
    /// When it runs next: now when pending, its due time when scheduled or retrying.
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    next_process_at: Option<DateTime<Utc>>,
    /// When it succeeded (completed tasks are kept only with a retention).
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    completed_at: Option<DateTime<Utc>>,
    /// Per-attempt timeout in seconds, when set.
    #[schema(required = true)]
    timeout_seconds: Option<u64>,
    /// Deadline of every attempt, when set.
    #[schema(required = true)]
    #[serde(serialize_with = "rfc3339_micros_opt")]
    deadline: Option<DateTime<Utc>>,
    /// How long it is kept after success, in seconds.
    retention_seconds: u64,
}

impl From<JobInfo> for TaskView {
    fn from(job: JobInfo) -> Self {
        Self {
            id: job.id.to_string(),
            queue: job.queue,
            task_type: job.task_type,
            payload: serde_json::from_slice(&job.payload).ok(),
            payload_base64: base64::engine::general_purpose::STANDARD.encode(&job.payload),
            state: job.state.into(),
            retried: job.retried,
            max_retry: job.max_retries,
            last_error: job.last_error,
            last_failed_at: job.last_failed_at,
            next_process_at: job.next_run_at,
            completed_at: job.completed_at,
            timeout_seconds: job.timeout.map(|t| t.as_secs()),
            deadline: job.deadline,
            retention_seconds: job.retention.as_secs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use platform_ports::jobs::JobId;

    use super::*;

    #[test]
    fn states_serialize_as_asynq_names_them() {
        for state in JobState::ALL {
            let json = serde_json::to_value(TaskStateView::from(state)).unwrap();
            assert_eq!(json, state.as_str());
        }
    }

    #[test]
    fn json_payloads_are_shown_as_json_and_others_only_as_base64() {
        let mut job = JobInfo {
            id: JobId::parse("t1").unwrap(),
            queue: "default".into(),
            task_type: "notify:email".into(),
            payload: br#"{"to":"a@b.c"}"#.to_vec(),
            state: JobState::Retry,
            retried: 1,
            max_retries: 3,
            last_error: Some("smtp down".into()),
            last_failed_at: None,
            next_run_at: None,
            completed_at: None,
            timeout: Some(Duration::from_secs(1800)),
            deadline: None,
            retention: Duration::ZERO,
        };
        let json = serde_json::to_value(TaskView::from(job.clone())).unwrap();
        assert_eq!(json["payload"]["to"], "a@b.c");
        assert_eq!(
            (json["type"].as_str(), json["max_retry"].as_u64()),
            (Some("notify:email"), Some(3))
        );
        assert_eq!(json["state"], "retry");
        job.payload = vec![0xff, 0x00];
        let json = serde_json::to_value(TaskView::from(job)).unwrap();
        assert!(json["payload"].is_null());
        assert_eq!(json["payload_base64"], "/wA=");
    }
}
