//! A job worker: takes due jobs one at a time and records how each went;
//! idle, it sleeps until woken or until the next scheduled job falls due.

use std::pin::pin;
use std::sync::Arc;

use tokio::time::Instant;

use super::state::{AfterFailure, Claimed};
use super::{MemoryJobQueueSettings, Shared};
use crate::bus::attempt::{backoff, run_guarded};

/// Runs jobs until the queue is stopped; the job in hand is finished first.
pub(super) async fn run(shared: Arc<Shared>, settings: MemoryJobQueueSettings) {
    loop {
        // Registered before looking at the queue so no wake-up in between is lost.
        let mut woken = pin!(shared.wake.notified());
        woken.as_mut().enable();
        if shared.is_closed() {
            break;
        }
        let (claimed, next_due) = {
            let mut jobs = shared.jobs();
            jobs.promote_due(Instant::now());
            (jobs.claim(), jobs.next_due())
        };
        match (claimed, next_due) {
            (Some(job), _) => execute(&shared, &settings, job).await,
            (None, Some(due)) => {
                tokio::select! {
                    () = woken => {}
                    () = tokio::time::sleep_until(due) => {}
                }
            }
            (None, None) => woken.await,
        }
    }
}

async fn execute(shared: &Shared, settings: &MemoryJobQueueSettings, job: Claimed) {
    let result = match shared.handler(&job.task_type) {
        None => Err(format!("no handler registered for task type `{}`", job.task_type)),
        Some(handler) => {
            let attempt = run_guarded(handler.handle(&job.payload));
            match job.timeout {
                None => attempt.await,
                Some(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .unwrap_or_else(|_| Err(format!("timed out after {limit:?}"))),
            }
        }
    };
    let error = match result {
        Ok(()) => {
            shared.jobs().complete(job.id, settings.history_limit);
            tracing::debug!(job_id = %job.id, queue = %job.queue, task_type = %job.task_type, "job completed");
            return;
        }
        Err(error) => error,
    };
    let outcome = shared.jobs().fail(
        job.id,
        error.clone(),
        Instant::now(),
        settings.history_limit,
        |retried| backoff(settings.initial_backoff, settings.max_backoff, retried),
    );
    match outcome {
        Some((AfterFailure::Retry(wait), retried)) => {
            tracing::warn!(
                job_id = %job.id, queue = %job.queue, task_type = %job.task_type,
                retried, retry_in = ?wait, %error, "job failed; will retry"
            );
            // An idle worker may be sleeping past this retry's due time.
            shared.wake.notify_one();
        }
        Some((AfterFailure::Archived, retried)) => {
            tracing::error!(
                job_id = %job.id, queue = %job.queue, task_type = %job.task_type,
                retried, %error, "job failed and is out of retries; archived"
            );
        }
        None => {}
    }
}
