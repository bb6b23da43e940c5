//! The queue's bookkeeping, kept under one lock: every known job, the due
//! jobs per queue, the jobs waiting for a time, and the bounded history.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use platform_ports::jobs::{JobInfo, JobState, NewJob};
use platform_ports::model::JobId;
use tokio::time::Instant;

/// How far ahead a job may be scheduled; later `run_at`s are clamped so the
/// monotonic clock can always represent them.
const MAX_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

struct JobRecord {
    queue: String,
    task_type: String,
    payload: Arc<[u8]>,
    max_retries: u32,
    timeout: Option<Duration>,
    state: JobState,
    retried: u32,
    last_error: Option<String>,
    next_run_at: Option<DateTime<Utc>>,
}

/// A job a worker has taken.
pub(super) struct Claimed {
    pub(super) id: JobId,
    pub(super) queue: String,
    pub(super) task_type: String,
    pub(super) payload: Arc<[u8]>,
    pub(super) timeout: Option<Duration>,
}

/// What became of a failed attempt.
pub(super) enum AfterFailure {
    /// Retried after this wait.
    Retry(Duration),
    /// Out of retries.
    Archived,
}

/// Every job the queue knows, and the indexes workers pick from.
#[derive(Default)]
pub(super) struct Jobs {
    records: HashMap<JobId, JobRecord>,
    /// Due jobs, first in first out within a queue.
    ready: BTreeMap<String, VecDeque<JobId>>,
    /// The queue served last, so workers take queues in turn.
    last_queue: Option<String>,
    /// Scheduled and retrying jobs by due time.
    waiting: BTreeSet<(Instant, JobId)>,
    /// Completed and archived jobs, oldest first.
    finished: VecDeque<JobId>,
}

impl Jobs {
    /// Adds a job: due now, or scheduled when `run_at` is in the future.
    pub(super) fn insert(&mut self, id: JobId, job: NewJob, now: Instant) {
        let delay = job
            .run_at
            .and_then(|at| (at - Utc::now()).to_std().ok())
            .filter(|d| !d.is_zero());
        let mut record = JobRecord {
            queue: job.queue,
            task_type: job.task_type,
            payload: job.payload.into(),
            max_retries: job.max_retries,
            timeout: job.timeout,
            state: JobState::Pending,
            retried: 0,
            last_error: None,
            next_run_at: None,
        };
        match delay {
            Some(delay) => {
                let due = now + delay.min(MAX_DELAY);
                record.state = JobState::Scheduled;
                record.next_run_at = job.run_at;
                self.waiting.insert((due, id));
            }
            None => self.ready.entry(record.queue.clone()).or_default().push_back(id),
        }
        self.records.insert(id, record);
    }

    /// Moves the jobs whose time has come to their queues.
    pub(super) fn promote_due(&mut self, now: Instant) {
        while let Some(&(due, id)) = self.waiting.first() {
            if due > now {
                break;
            }
            self.waiting.pop_first();
            if let Some(record) = self.records.get_mut(&id) {
                record.state = JobState::Pending;
                record.next_run_at = None;
                self.ready.entry(record.queue.clone()).or_default().push_back(id);
            }
        }
    }

    /// When the next waiting job falls due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.waiting.first().map(|&(due, _)| due)
    }

    /// Takes the next due job, serving non-empty queues in turn, and marks it active.
    pub(super) fn claim(&mut self) -> Option<Claimed> {
        let after = self.last_queue.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let queue = self
            .ready
            .range::<str, _>((after, Bound::Unbounded))
            .next()
            .or_else(|| self.ready.iter().next())
            .map(|(queue, _)| queue.clone())?;
        let ids = self.ready.get_mut(&queue)?;
        let id = ids.pop_front()?;
        if ids.is_empty() {
            self.ready.remove(&queue);
        }
        self.last_queue = Some(queue);
        let record = self.records.get_mut(&id)?;
        record.state = JobState::Active;
        Some(Claimed {
            id,
            queue: record.queue.clone(),
            task_type: record.task_type.clone(),
            payload: record.payload.clone(),
            timeout: record.timeout,
        })
    }

    /// Marks a job done.
    pub(super) fn complete(&mut self, id: JobId, history_limit: usize) {
        if let Some(record) = self.records.get_mut(&id) {
            record.state = JobState::Completed;
            self.finish(id, history_limit);
        }
    }

    /// Records a failed attempt: a retry after `backoff(retried)`, or the archive.
    pub(super) fn fail(
        &mut self,
        id: JobId,
        error: String,
        now: Instant,
        history_limit: usize,
        backoff: impl Fn(u32) -> Duration,
    ) -> Option<(AfterFailure, u32)> {
        let record = self.records.get_mut(&id)?;
        record.retried = record.retried.saturating_add(1);
        record.last_error = Some(error);
        let retried = record.retried;
        if retried > record.max_retries {
            record.state = JobState::Archived;
            self.finish(id, history_limit);
            return Some((AfterFailure::Archived, retried));
        }
        let wait = backoff(retried).min(MAX_DELAY);
        let due = now + wait;
        record.state = JobState::Retry;
        record.next_run_at = chrono::Duration::from_std(wait).ok().map(|wait| Utc::now() + wait);
        self.waiting.insert((due, id));
        Some((AfterFailure::Retry(wait), retried))
    }

    /// Puts jobs whose worker was aborted back in their queues.
    pub(super) fn requeue_active(&mut self) {
        for (id, record) in &mut self.records {
            if record.state == JobState::Active {
                record.state = JobState::Pending;
                self.ready.entry(record.queue.clone()).or_default().push_back(*id);
            }
        }
    }

    /// The job's status as clients see it.
    pub(super) fn info(&self, id: JobId) -> Option<JobInfo> {
        self.records.get(&id).map(|record| JobInfo {
            id,
            queue: record.queue.clone(),
            task_type: record.task_type.clone(),
            state: record.state,
            retried: record.retried,
            max_retries: record.max_retries,
            last_error: record.last_error.clone(),
            next_run_at: record.next_run_at,
        })
    }

    /// Moves a finished job to the history, forgetting the oldest beyond the limit.
    fn finish(&mut self, id: JobId, history_limit: usize) {
        if let Some(record) = self.records.get_mut(&id) {
            record.next_run_at = None;
            // A finished job's payload is never read again.
            record.payload = Arc::from([]);
        }
        self.finished.push_back(id);
        while self.finished.len() > history_limit {
            if let Some(old) = self.finished.pop_front() {
                self.records.remove(&old);
            }
        }
    }
}
