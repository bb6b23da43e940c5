//! A job worker: takes pending jobs one at a time and records how each went
//! (asynq's processor rules); idle, it sleeps until woken or until the next
//! scheduled job falls due.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;

use futures::FutureExt;
use platform_ports::BoxError;
use platform_ports::jobs::FailurePolicy;
use tokio::time::Instant;
use tracing::Instrument;

use super::state::Claimed;
use super::{MemoryJobQueueSettings, Shared};
use platform_ports::events::error_chain;

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
            let now = Instant::now();
            jobs.expire(now);
            (jobs.claim(now), jobs.next_due())
        };
        match (claimed, next_due) {
            (Some(job), _) => {
                let span = attempt_span(&job);
                execute(&shared, &settings, job).instrument(span).await;
            }
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

/// Runs the handler (or fails like asynq's "handler not found"), bounded by
/// the job's deadline; a panic is a failure like any other.
async fn attempt(shared: &Shared, job: &Claimed) -> Result<(), BoxError> {
    let Some(handler) = shared.handler(&job.task_type) else {
        return Err(format!("handler not found for task \"{}\"", job.task_type).into());
    };
    let run = AssertUnwindSafe(handler.handle(&job.payload)).catch_unwind();
    let outcome = match job.deadline {
        None => run.await,
        Some(deadline) => match tokio::time::timeout_at(deadline, run).await {
            Ok(outcome) => outcome,
            Err(_) => return Err("context deadline exceeded".into()),
        },
    };
    outcome.unwrap_or_else(|panic| Err(format!("panic: {}", panic_text(panic.as_ref())).into()))
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-text panic payload")
}

/// The span of one attempt: a consumer span continuing the trace of the
/// work that enqueued the job (OpenTelemetry's messaging conventions).
fn attempt_span(job: &Claimed) -> tracing::Span {
    let span = tracing::info_span!(
        "job.process",
        otel.name = %format_args!("process {}", job.queue),
        otel.kind = "consumer",
        messaging.system = "memory",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = %job.queue,
        messaging.message.id = %job.id,
        job.task_type = %job.task_type,
        job.retried = job.retried,
    );
    platform_ports::telemetry::follow(&span, job.trace_parent.as_deref());
    span
}

async fn execute(shared: &Shared, settings: &MemoryJobQueueSettings, job: Claimed) {
    let error = match attempt(shared, &job).await {
        Ok(()) => {
            shared.jobs().complete(&job.id, Instant::now());
            tracing::debug!(job_id = %job.id, queue = %job.queue, task_type = %job.task_type, "job completed");
            return;
        }
        Err(error) => error,
    };
    let text = error_chain(error.as_ref());
    let now = Instant::now();
    match FailurePolicy::decide(error.as_ref(), job.retried, job.max_retries) {
        FailurePolicy::Revoke => {
            shared.jobs().complete(&job.id, now);
            tracing::warn!(job_id = %job.id, queue = %job.queue, task_type = %job.task_type, error = %text, "job revoked");
        }
        FailurePolicy::Archive => {
            shared
                .jobs()
                .archive_failed(&job.id, text.clone(), now, settings.history_limit);
            tracing::error!(
                job_id = %job.id, queue = %job.queue, task_type = %job.task_type,
                retried = job.retried, error = %text, "job failed and is out of retries; archived"
            );
        }
        FailurePolicy::Retry => {
            let wait = settings.retry_delay.delay(job.retried);
            shared.jobs().retry(&job.id, text.clone(), wait, now);
            tracing::warn!(
                job_id = %job.id, queue = %job.queue, task_type = %job.task_type,
                retried = job.retried + 1, retry_in = ?wait, error = %text, "job failed; will retry"
            );
            // An idle worker may be sleeping past this retry's due time.
            shared.wake.notify_one();
        }
    }
}
