use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::jobs::JobId;

/// The queue a job goes to unless it names one (asynq's `default`).
pub const DEFAULT_QUEUE: &str = "default";
/// Retries after the first failure unless the job says otherwise (asynq's 25).
pub const DEFAULT_MAX_RETRIES: u32 = 25;
/// How long one attempt may run when a job sets neither a timeout nor a
/// deadline (asynq's 30 minutes).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A job to enqueue: a task type (asynq style, `notify:email`), its payload
/// and the options asynq's client offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Queue name (`default`, `critical`...).
    pub queue: String,
    /// Task type the handler is registered under (`notify:email`).
    pub task_type: String,
    /// Payload handed to the handler.
    pub payload: Vec<u8>,
    /// Retries after the first failure; then the job is archived.
    pub max_retries: u32,
    /// Run no earlier than this (scheduled); `None` or a past time runs now.
    pub run_at: Option<DateTime<Utc>>,
    /// Give up a single attempt after this long.
    pub timeout: Option<Duration>,
    /// Give up any attempt after this instant.
    pub deadline: Option<DateTime<Utc>>,
    /// Refuse another job with the same queue, type and payload for this long
    /// (at least a second) or until this one succeeds.
    pub unique_for: Option<Duration>,
    /// Keep the job, completed, this long after it succeeds (zero: forget
    /// it at once); `None` takes the queue's configured default.
    pub retention: Option<Duration>,
    /// A caller-chosen id; a random one otherwise. A second job with the
    /// same id is refused while the first is known.
    pub id: Option<JobId>,
    /// The W3C `traceparent` of the work that enqueued it: the worker's span
    /// continues that trace. Queues carry it as job metadata, outside the payload.
    #[serde(default, rename = "traceparent", skip_serializing_if = "Option::is_none")]
    pub trace_parent: Option<String>,
}

impl NewJob {
    /// A job on `queue` with asynq's defaults: 25 retries, run now, a 30
    /// minute timeout per attempt, no uniqueness, no retention; it carries
    /// the trace context of the span it is built in.
    pub fn new(queue: impl Into<String>, task_type: impl Into<String>, payload: Vec<u8>) -> Self {
        Self {
            queue: queue.into(),
            task_type: task_type.into(),
            payload,
            max_retries: DEFAULT_MAX_RETRIES,
            run_at: None,
            timeout: None,
            deadline: None,
            unique_for: None,
            retention: None,
            id: None,
            trace_parent: crate::telemetry::current_traceparent(),
        }
    }

    /// Runs the job at `at`.
    #[must_use]
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Runs the job `delay` from now.
    #[must_use]
    pub fn after(mut self, delay: Duration) -> Self {
        self.run_at = chrono::Duration::from_std(delay).ok().map(|d| Utc::now() + d);
        self
    }

    /// Sets the retry budget.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Bounds each attempt.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Bounds every attempt by an instant.
    #[must_use]
    pub fn deadline(mut self, deadline: DateTime<Utc>) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Refuses duplicates (same queue, type and payload) for `ttl`.
    #[must_use]
    pub fn unique_for(mut self, ttl: Duration) -> Self {
        self.unique_for = Some(ttl);
        self
    }

    /// Keeps the job, completed, for `retention` after it succeeds.
    #[must_use]
    pub fn retain(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Uses `id` instead of a random one.
    #[must_use]
    pub fn with_id(mut self, id: JobId) -> Self {
        self.id = Some(id);
        self
    }

    /// The timeout one attempt gets: the job's own, or the default when it
    /// sets neither a timeout nor a deadline (as asynq's client does).
    #[must_use]
    pub fn effective_timeout(&self) -> Option<Duration> {
        match (self.timeout, self.deadline) {
            (Some(timeout), _) if !timeout.is_zero() => Some(timeout),
            (_, Some(_)) => None,
            _ => Some(DEFAULT_TIMEOUT),
        }
    }

    /// Checks what asynq's client checks before enqueueing.
    ///
    /// # Errors
    /// The name of the offending field and why: a blank queue or task type,
    /// or a uniqueness window shorter than a second.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.queue.trim().is_empty() {
            return Err(("queue", "must not be blank"));
        }
        if self.task_type.trim().is_empty() {
            return Err(("task_type", "must not be blank"));
        }
        if self.unique_for.is_some_and(|ttl| ttl < Duration::from_secs(1)) {
            return Err(("unique_for", "must be at least one second"));
        }
        Ok(())
    }
}

/// Where a job is (asynq's task states).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// Out of retries (or told not to retry); kept for inspection.
    Archived,
    /// Succeeded and kept for its retention.
    Completed,
    /// Waiting in an asynq group to be aggregated (written by Go clients only).
    Aggregating,
}

impl JobState {
    /// Every state, in asynq's order.
    pub const ALL: [JobState; 7] = [
        JobState::Active,
        JobState::Pending,
        JobState::Scheduled,
        JobState::Retry,
        JobState::Archived,
        JobState::Completed,
        JobState::Aggregating,
    ];

    /// The name asynq stores in a task's `state` field.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
            Self::Active => "active",
            Self::Retry => "retry",
            Self::Archived => "archived",
            Self::Completed => "completed",
            Self::Aggregating => "aggregating",
        }
    }

    /// Parses asynq's state name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
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
    /// Payload.
    pub payload: Vec<u8>,
    /// State.
    pub state: JobState,
    /// Attempts that failed so far.
    pub retried: u32,
    /// Retry budget.
    pub max_retries: u32,
    /// Last error message.
    pub last_error: Option<String>,
    /// When the last attempt failed.
    pub last_failed_at: Option<DateTime<Utc>>,
    /// Next run time: now for a pending job, the due time when scheduled or retrying.
    pub next_run_at: Option<DateTime<Utc>>,
    /// When it succeeded (kept only with a retention).
    pub completed_at: Option<DateTime<Utc>>,
    /// Per-attempt timeout, when set.
    pub timeout: Option<Duration>,
    /// Deadline, when set.
    pub deadline: Option<DateTime<Utc>>,
    /// How long it is kept after success.
    pub retention: Duration,
}

/// Returned by a handler (inside its boxed error) to archive the job at once
/// instead of retrying it (asynq's `SkipRetry`).
#[derive(Debug, thiserror::Error)]
#[error("skip retry for the task: {0}")]
pub struct SkipRetry(pub String);

/// Returned by a handler to drop the job without retrying or archiving it
/// (asynq's `RevokeTask`).
#[derive(Debug, thiserror::Error)]
#[error("revoke task: {0}")]
pub struct RevokeTask(pub String);

/// What a failed attempt leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Try again after a delay.
    Retry,
    /// Keep the job, archived, with its error.
    Archive,
    /// Forget the job as if it had succeeded.
    Revoke,
}

impl FailurePolicy {
    /// asynq's processor rule: a revoked job is dropped, a job out of retries
    /// (or told to skip them) is archived, anything else is retried.
    #[must_use]
    pub fn decide(error: &(dyn std::error::Error + 'static), retried: u32, max_retries: u32) -> Self {
        let mut cause = Some(error);
        let (mut revoke, mut skip) = (false, false);
        while let Some(err) = cause {
            revoke |= err.is::<RevokeTask>();
            skip |= err.is::<SkipRetry>();
            cause = err.source();
        }
        if revoke {
            Self::Revoke
        } else if skip || retried >= max_retries {
            Self::Archive
        } else {
            Self::Retry
        }
    }
}

/// The wait before a failed job's next attempt, given how many attempts
/// failed before this one.
#[derive(Clone)]
pub struct RetryDelay(std::sync::Arc<dyn Fn(u32) -> Duration + Send + Sync>);

impl RetryDelay {
    /// asynq's default (Sidekiq's formula): `n⁴ + 15 + rand[0,30)·(n+1)` seconds.
    #[must_use]
    pub fn asynq() -> Self {
        Self(std::sync::Arc::new(|retried| {
            let n = u64::from(retried);
            // Any random source will do; a v4 UUID is 122 random bits.
            let jitter = u64::try_from(uuid::Uuid::new_v4().as_u128() % 30).unwrap_or(0);
            let secs = n
                .saturating_pow(4)
                .saturating_add(15)
                .saturating_add(jitter.saturating_mul(n + 1));
            Duration::from_secs(secs)
        }))
    }

    /// The same wait every time (tests).
    #[must_use]
    pub fn fixed(wait: Duration) -> Self {
        Self(std::sync::Arc::new(move |_| wait))
    }

    /// Any function of the number of failed attempts so far.
    pub fn from_fn(f: impl Fn(u32) -> Duration + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(f))
    }

    /// The wait after `retried` earlier failures.
    #[must_use]
    pub fn delay(&self, retried: u32) -> Duration {
        (self.0)(retried)
    }
}

impl Default for RetryDelay {
    fn default() -> Self {
        Self::asynq()
    }
}

impl std::fmt::Debug for RetryDelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryDelay(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asynq_delay_follows_the_formula() {
        let delay = RetryDelay::asynq();
        for n in [0u32, 1, 5] {
            let secs = delay.delay(n).as_secs();
            let base = u64::from(n).pow(4) + 15;
            assert!(secs >= base && secs < base + 30 * (u64::from(n) + 1), "n={n}: {secs}");
        }
    }

    #[test]
    fn failure_policy_follows_asynq() {
        let plain: Box<dyn std::error::Error> = "boom".into();
        assert_eq!(FailurePolicy::decide(plain.as_ref(), 0, 3), FailurePolicy::Retry);
        assert_eq!(FailurePolicy::decide(plain.as_ref(), 3, 3), FailurePolicy::Archive);
        let skip = SkipRetry("bad payload".into());
        assert_eq!(FailurePolicy::decide(&skip, 0, 3), FailurePolicy::Archive);
        let revoke = RevokeTask("gone".into());
        assert_eq!(FailurePolicy::decide(&revoke, 3, 3), FailurePolicy::Revoke);
    }

    #[test]
    fn timeout_defaults_like_asynq() {
        let job = NewJob::new("q", "t:x", vec![]);
        assert_eq!(job.effective_timeout(), Some(DEFAULT_TIMEOUT));
        assert_eq!(job.clone().deadline(Utc::now()).effective_timeout(), None);
        let short = job.timeout(Duration::from_secs(5));
        assert_eq!(short.effective_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(
            NewJob::new(" ", "t", vec![]).validate(),
            Err(("queue", "must not be blank"))
        );
        let unique = NewJob::new("q", "t", vec![]).unique_for(Duration::from_millis(10));
        assert_eq!(unique.validate().unwrap_err().0, "unique_for");
    }
}
