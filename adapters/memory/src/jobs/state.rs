//! The queue's bookkeeping, kept under one lock, with asynq's semantics:
//! every known job, the pending jobs per queue, the jobs waiting for a time,
//! uniqueness locks, paused queues and the processed/failed counters.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use platform_ports::jobs::{JobError, JobId, JobInfo, JobState, NewJob};
use tokio::time::Instant;

/// How far ahead a job may be scheduled; later `run_at`s are clamped so the
/// monotonic clock can always represent them.
const MAX_DELAY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Archived jobs older than this are forgotten (asynq: 90 days).
const ARCHIVE_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

pub(super) struct JobRecord {
    pub(super) queue: String,
    pub(super) task_type: String,
    pub(super) payload: Arc<[u8]>,
    pub(super) max_retries: u32,
    pub(super) timeout: Option<Duration>,
    pub(super) deadline: Option<DateTime<Utc>>,
    pub(super) unique_key: Option<String>,
    pub(super) retention: Duration,
    pub(super) state: JobState,
    pub(super) retried: u32,
    pub(super) last_error: Option<String>,
    pub(super) last_failed_at: Option<DateTime<Utc>>,
    /// Due time while scheduled or retrying; entry time in the state otherwise.
    pub(super) since: DateTime<Utc>,
    pub(super) completed_at: Option<DateTime<Utc>>,
    /// Creation order, to break ties when listing.
    pub(super) seq: u64,
    /// The W3C `traceparent` of the work that enqueued it.
    pub(super) trace_parent: Option<Arc<str>>,
}

impl JobRecord {
    pub(super) fn info(&self, id: &JobId) -> JobInfo {
        let next_run_at = match self.state {
            JobState::Pending => Some(Utc::now()),
            JobState::Scheduled | JobState::Retry => Some(self.since),
            _ => None,
        };
        JobInfo {
            id: id.clone(),
            queue: self.queue.clone(),
            task_type: self.task_type.clone(),
            payload: self.payload.to_vec(),
            state: self.state,
            retried: self.retried,
            max_retries: self.max_retries,
            last_error: self.last_error.clone(),
            last_failed_at: self.last_failed_at,
            next_run_at,
            completed_at: self.completed_at,
            timeout: self.timeout,
            deadline: self.deadline,
            retention: self.retention,
        }
    }
}

/// A job a worker has taken.
pub(super) struct Claimed {
    pub(super) id: JobId,
    pub(super) queue: String,
    pub(super) task_type: String,
    pub(super) payload: Arc<[u8]>,
    pub(super) retried: u32,
    pub(super) max_retries: u32,
    /// When the attempt must end: min(now + timeout, deadline).
    pub(super) deadline: Option<Instant>,
    /// The trace the attempt continues.
    pub(super) trace_parent: Option<Arc<str>>,
}

/// Processed and failed attempts of one queue.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) processed_total: u64,
    pub(super) failed_total: u64,
    pub(super) daily: BTreeMap<NaiveDate, (u64, u64)>,
}

impl Counters {
    fn count(&mut self, failed: bool) {
        let day = self.daily.entry(Utc::now().date_naive()).or_default();
        day.0 += 1;
        self.processed_total += 1;
        if failed {
            day.1 += 1;
            self.failed_total += 1;
        }
    }
}

/// Every job the queue knows, and the indexes workers pick from.
#[derive(Default)]
pub(super) struct Jobs {
    pub(super) records: HashMap<JobId, JobRecord>,
    /// Pending jobs, first in first out within a queue.
    pub(super) ready: BTreeMap<String, VecDeque<JobId>>,
    /// The queue served last, so workers take queues in turn.
    last_queue: Option<String>,
    /// Scheduled and retrying jobs by due time.
    waiting: BTreeSet<(Instant, JobId)>,
    /// Completed jobs by the end of their retention.
    completed: BTreeSet<(Instant, JobId)>,
    /// Archived jobs, oldest first.
    archived: VecDeque<(Instant, JobId)>,
    /// Uniqueness locks: key → holder and expiry.
    unique: HashMap<String, (JobId, Instant)>,
    pub(super) paused: HashSet<String>,
    /// Every queue that ever had a job, with its counters.
    pub(super) queues: BTreeMap<String, Counters>,
    next_seq: u64,
}

fn due_in(at: Option<DateTime<Utc>>) -> Option<Duration> {
    at.and_then(|at| (at - Utc::now()).to_std().ok())
        .filter(|d| !d.is_zero())
}

fn wall_clock_in(wait: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)
}

impl Jobs {
    /// Adds a job: pending now, or scheduled when `run_at` is in the future.
    pub(super) fn insert(
        &mut self,
        id: JobId,
        job: NewJob,
        default_retention: Duration,
        now: Instant,
    ) -> Result<(), JobError> {
        self.expire(now);
        if self.records.contains_key(&id) {
            return Err(JobError::IdConflict(id));
        }
        let unique_key = job
            .unique_for
            .map(|_| format!("{}\0{}\0{:x}", job.queue, job.task_type, fold_hash(&job.payload)));
        if let (Some(key), Some(ttl)) = (&unique_key, job.unique_for) {
            if self.unique.contains_key(key) {
                return Err(JobError::Duplicate);
            }
            self.unique.insert(key.clone(), (id.clone(), now + ttl.min(MAX_DELAY)));
        }
        self.queues.entry(job.queue.clone()).or_default();
        self.next_seq += 1;
        let mut record = JobRecord {
            timeout: job.effective_timeout(),
            queue: job.queue,
            task_type: job.task_type,
            payload: job.payload.into(),
            max_retries: job.max_retries,
            deadline: job.deadline,
            unique_key,
            retention: job.retention.unwrap_or(default_retention),
            state: JobState::Pending,
            retried: 0,
            last_error: None,
            last_failed_at: None,
            since: Utc::now(),
            completed_at: None,
            seq: self.next_seq,
            trace_parent: job.trace_parent.map(Arc::from),
        };
        match due_in(job.run_at) {
            Some(delay) => {
                record.state = JobState::Scheduled;
                record.since = job.run_at.unwrap_or_else(Utc::now);
                self.waiting.insert((now + delay.min(MAX_DELAY), id.clone()));
            }
            None => self
                .ready
                .entry(record.queue.clone())
                .or_default()
                .push_back(id.clone()),
        }
        self.records.insert(id, record);
        Ok(())
    }

    /// Moves due jobs to their queues and forgets expired locks, completed
    /// jobs past their retention and archived jobs past 90 days.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some((due, id)) = self.waiting.first().cloned() {
            if due > now {
                break;
            }
            self.waiting.pop_first();
            self.make_pending(&id);
        }
        while let Some((end, id)) = self.completed.first().cloned() {
            if end > now {
                break;
            }
            self.completed.pop_first();
            self.records.remove(&id);
        }
        while let Some((died, id)) = self.archived.front().cloned() {
            if now.duration_since(died) < ARCHIVE_AGE {
                break;
            }
            self.archived.pop_front();
            self.records.remove(&id);
        }
        self.unique.retain(|_, (_, until)| *until > now);
    }

    fn make_pending(&mut self, id: &JobId) {
        if let Some(record) = self.records.get_mut(id) {
            record.state = JobState::Pending;
            record.since = Utc::now();
            self.ready
                .entry(record.queue.clone())
                .or_default()
                .push_back(id.clone());
        }
    }

    /// When the next waiting job falls due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.waiting.first().map(|(due, _)| *due)
    }

    /// Takes the next pending job of a queue that is not paused, serving
    /// queues in turn, and marks it active.
    pub(super) fn claim(&mut self, now: Instant) -> Option<Claimed> {
        let after = self.last_queue.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let runnable = |(queue, ids): (&String, &VecDeque<JobId>)| {
            (!ids.is_empty() && !self.paused.contains(queue)).then(|| queue.clone())
        };
        let queue = self
            .ready
            .range::<str, _>((after, Bound::Unbounded))
            .find_map(runnable)
            .or_else(|| self.ready.iter().find_map(runnable))?;
        let ids = self.ready.get_mut(&queue)?;
        let id = ids.pop_front()?;
        if ids.is_empty() {
            self.ready.remove(&queue);
        }
        self.last_queue = Some(queue);
        let record = self.records.get_mut(&id)?;
        record.state = JobState::Active;
        record.since = Utc::now();
        let until_deadline = record
            .deadline
            .map(|deadline| (deadline - Utc::now()).to_std().unwrap_or_default());
        let limit = match (record.timeout, until_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(Claimed {
            id,
            queue: record.queue.clone(),
            task_type: record.task_type.clone(),
            payload: record.payload.clone(),
            retried: record.retried,
            max_retries: record.max_retries,
            deadline: limit.map(|limit| now + limit.min(MAX_DELAY)),
            trace_parent: record.trace_parent.clone(),
        })
    }

    /// A successful (or revoked) attempt: kept as completed for its
    /// retention, or forgotten; its uniqueness lock is released.
    pub(super) fn complete(&mut self, id: &JobId, now: Instant) {
        let Some(record) = self.records.get_mut(id) else { return };
        self.queues.entry(record.queue.clone()).or_default().count(false);
        if let Some(key) = record.unique_key.take() {
            release(&mut self.unique, &key, id);
        }
        if record.retention.is_zero() {
            self.records.remove(id);
            return;
        }
        record.state = JobState::Completed;
        record.completed_at = Some(Utc::now());
        record.since = wall_clock_in(record.retention);
        self.completed
            .insert((now + record.retention.min(MAX_DELAY), id.clone()));
    }

    /// A failed attempt to try again after `wait`.
    pub(super) fn retry(&mut self, id: &JobId, error: String, wait: Duration, now: Instant) {
        let Some(record) = self.records.get_mut(id) else { return };
        self.queues.entry(record.queue.clone()).or_default().count(true);
        record.retried = record.retried.saturating_add(1);
        record.last_error = Some(error);
        record.last_failed_at = Some(Utc::now());
        record.state = JobState::Retry;
        record.since = wall_clock_in(wait);
        self.waiting.insert((now + wait.min(MAX_DELAY), id.clone()));
    }

    /// A failed attempt that ends the job: archived with its error.
    pub(super) fn archive_failed(&mut self, id: &JobId, error: String, now: Instant, limit: usize) {
        let Some(record) = self.records.get_mut(id) else { return };
        self.queues.entry(record.queue.clone()).or_default().count(true);
        record.last_error = Some(error);
        record.last_failed_at = Some(Utc::now());
        self.move_to_archive(id, now, limit);
    }

    /// Puts a job (in any state but active) in the archive, trimmed to `limit`.
    pub(super) fn move_to_archive(&mut self, id: &JobId, now: Instant, limit: usize) {
        self.detach(id);
        if let Some(record) = self.records.get_mut(id) {
            record.state = JobState::Archived;
            record.since = Utc::now();
        }
        self.archived.push_back((now, id.clone()));
        while self.archived.len() > limit {
            if let Some((_, old)) = self.archived.pop_front() {
                self.records.remove(&old);
            }
        }
    }

    /// Removes a job from the index of its current state (not from `records`).
    pub(super) fn detach(&mut self, id: &JobId) {
        let Some(record) = self.records.get(id) else { return };
        match record.state {
            JobState::Pending => {
                if let Some(ids) = self.ready.get_mut(&record.queue) {
                    ids.retain(|other| other != id);
                }
            }
            JobState::Scheduled | JobState::Retry => self.waiting.retain(|(_, other)| other != id),
            JobState::Completed => self.completed.retain(|(_, other)| other != id),
            JobState::Archived => self.archived.retain(|(_, other)| other != id),
            JobState::Active | JobState::Aggregating => {}
        }
    }

    /// Makes a scheduled, retrying or archived job pending now.
    pub(super) fn run_now(&mut self, id: &JobId) {
        self.detach(id);
        self.make_pending(id);
    }

    /// Deletes a job and releases its uniqueness lock.
    pub(super) fn delete(&mut self, id: &JobId) {
        self.detach(id);
        if let Some(key) = self.records.remove(id).and_then(|record| record.unique_key) {
            release(&mut self.unique, &key, id);
        }
    }

    /// Puts jobs whose worker was aborted back at the front of their queues.
    pub(super) fn requeue_active(&mut self) {
        for (id, record) in &mut self.records {
            if record.state == JobState::Active {
                record.state = JobState::Pending;
                self.ready
                    .entry(record.queue.clone())
                    .or_default()
                    .push_front(id.clone());
            }
        }
    }

    /// The job's status as clients see it.
    pub(super) fn info(&self, id: &JobId) -> Option<JobInfo> {
        self.records.get(id).map(|record| record.info(id))
    }
}

/// Releases a uniqueness lock if `id` holds it.
fn release(locks: &mut HashMap<String, (JobId, Instant)>, key: &str, id: &JobId) {
    if locks.get(key).is_some_and(|(holder, _)| holder == id) {
        locks.remove(key);
    }
}

/// A stable 64-bit digest of a payload for the uniqueness key (FNV-1a: the
/// lock lives in this process only, so any stable hash will do).
fn fold_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
