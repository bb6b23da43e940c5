//! The Jobs API over the in-memory queue: the same answers asynq's
//! inspector gives for a Redis queue.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::jobs::{JobAdmin, JobAdminError, JobId, JobInfo, JobState, QueueStats};
use platform_ports::jobs::{cursor_offset, offset_cursor};
use platform_ports::model::{Page, PageRequest};
use tokio::time::Instant;

use super::MemoryJobQueue;
use super::state::Jobs;

fn stats(jobs: &Jobs, queue: &str) -> Option<QueueStats> {
    let counters = jobs.queues.get(queue)?;
    let today = counters
        .daily
        .get(&Utc::now().date_naive())
        .copied()
        .unwrap_or_default();
    let mut stats = QueueStats {
        queue: queue.to_owned(),
        paused: jobs.paused.contains(queue),
        processed_today: today.0,
        failed_today: today.1,
        processed_total: counters.processed_total,
        failed_total: counters.failed_total,
        ..QueueStats::default()
    };
    let mut oldest_pending = None;
    for record in jobs.records.values().filter(|record| record.queue == queue) {
        let slot = match record.state {
            JobState::Pending => {
                oldest_pending =
                    Some(oldest_pending.map_or(record.since, |oldest: DateTime<Utc>| oldest.min(record.since)));
                &mut stats.pending
            }
            JobState::Active => &mut stats.active,
            JobState::Scheduled => &mut stats.scheduled,
            JobState::Retry => &mut stats.retry,
            JobState::Archived => &mut stats.archived,
            JobState::Completed => &mut stats.completed,
            JobState::Aggregating => &mut stats.aggregating,
        };
        *slot += 1;
        stats.size += 1;
    }
    stats.latency = oldest_pending
        .and_then(|since| (Utc::now() - since).to_std().ok())
        .unwrap_or(Duration::ZERO);
    Some(stats)
}

impl MemoryJobQueue {
    /// Runs `f` on the bookkeeping after expiring what is due, for a queue that exists.
    fn with_queue<T>(
        &self,
        queue: &str,
        f: impl FnOnce(&mut Jobs) -> Result<T, JobAdminError>,
    ) -> Result<T, JobAdminError> {
        let mut jobs = self.shared.jobs();
        jobs.expire(Instant::now());
        if !jobs.queues.contains_key(queue) {
            return Err(JobAdminError::QueueNotFound(queue.to_owned()));
        }
        f(&mut jobs)
    }

    /// Runs `f` on a job of `queue` in a state `allowed` accepts.
    fn with_job(
        &self,
        queue: &str,
        id: &JobId,
        allowed: impl FnOnce(JobState) -> Result<(), &'static str>,
        f: impl FnOnce(&mut Jobs),
    ) -> Result<(), JobAdminError> {
        self.with_queue(queue, |jobs| {
            let state = jobs
                .records
                .get(id)
                .filter(|record| record.queue == queue)
                .map(|record| record.state)
                .ok_or_else(|| JobAdminError::JobNotFound {
                    queue: queue.to_owned(),
                    id: id.clone(),
                })?;
            allowed(state).map_err(|reason| JobAdminError::WrongState { state, reason })?;
            f(jobs);
            Ok(())
        })
    }
}

#[async_trait]
impl JobAdmin for MemoryJobQueue {
    async fn queues(&self) -> Result<Vec<QueueStats>, JobAdminError> {
        let mut jobs = self.shared.jobs();
        jobs.expire(Instant::now());
        Ok(jobs.queues.keys().filter_map(|queue| stats(&jobs, queue)).collect())
    }

    async fn queue(&self, queue: &str) -> Result<QueueStats, JobAdminError> {
        self.with_queue(queue, |jobs| {
            stats(jobs, queue).ok_or_else(|| JobAdminError::QueueNotFound(queue.to_owned()))
        })
    }

    async fn jobs(&self, queue: &str, state: JobState, page: PageRequest) -> Result<Page<JobInfo>, JobAdminError> {
        let offset = usize::try_from(cursor_offset(page.cursor.as_deref())?).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        self.with_queue(queue, |jobs| {
            let mut found: Vec<_> = match state {
                // Pending jobs in the order workers take them.
                JobState::Pending => jobs
                    .ready
                    .get(queue)
                    .into_iter()
                    .flatten()
                    .filter_map(|id| jobs.records.get(id).map(|record| (id, record)))
                    .collect(),
                _ => {
                    let mut found: Vec<_> = jobs
                        .records
                        .iter()
                        .filter(|(_, record)| record.queue == queue && record.state == state)
                        .collect();
                    found.sort_by_key(|(_, record)| (record.since, record.seq));
                    found
                }
            };
            let more = found.len() > offset.saturating_add(limit);
            let items = found
                .drain(offset.min(found.len())..)
                .take(limit)
                .map(|(id, record)| record.info(id))
                .collect();
            let next = offset.saturating_add(limit);
            Ok(Page {
                items,
                next_cursor: more.then(|| offset_cursor(u64::try_from(next).unwrap_or(u64::MAX))),
            })
        })
    }

    async fn job(&self, queue: &str, id: &JobId) -> Result<JobInfo, JobAdminError> {
        self.with_queue(queue, |jobs| {
            jobs.records
                .get(id)
                .filter(|record| record.queue == queue)
                .map(|record| record.info(id))
                .ok_or_else(|| JobAdminError::JobNotFound {
                    queue: queue.to_owned(),
                    id: id.clone(),
                })
        })
    }

    async fn run_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let allowed = |state| match state {
            JobState::Active => Err("task is already running"),
            JobState::Pending => Err("task is already in pending state"),
            _ => Ok(()),
        };
        self.with_job(queue, id, allowed, |jobs| jobs.run_now(id))?;
        self.shared.wake.notify_one();
        Ok(())
    }

    async fn archive_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let allowed = |state| match state {
            JobState::Active => Err("cannot archive task in active state"),
            JobState::Archived => Err("task is already archived"),
            _ => Ok(()),
        };
        let limit = self.settings.history_limit;
        self.with_job(queue, id, allowed, |jobs| {
            jobs.move_to_archive(id, Instant::now(), limit)
        })
    }

    async fn delete_job(&self, queue: &str, id: &JobId) -> Result<(), JobAdminError> {
        let allowed = |state| match state {
            JobState::Active => Err("cannot delete task in active state"),
            _ => Ok(()),
        };
        self.with_job(queue, id, allowed, |jobs| jobs.delete(id))
    }

    async fn pause_queue(&self, queue: &str) -> Result<(), JobAdminError> {
        let mut jobs = self.shared.jobs();
        if !jobs.paused.insert(queue.to_owned()) {
            return Err(JobAdminError::AlreadyInState {
                queue: queue.to_owned(),
                paused: true,
            });
        }
        Ok(())
    }

    async fn resume_queue(&self, queue: &str) -> Result<(), JobAdminError> {
        if !self.shared.jobs().paused.remove(queue) {
            return Err(JobAdminError::AlreadyInState {
                queue: queue.to_owned(),
                paused: false,
            });
        }
        self.shared.wake.notify_waiters();
        Ok(())
    }
}
