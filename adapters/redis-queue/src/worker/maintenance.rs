//! asynq's maintenance loops, run by every server on its own queues (each
//! step is one atomic script, so servers may overlap): the forwarder makes
//! due scheduled and retry tasks pending, the recoverer takes back tasks
//! whose lease ran out (a crashed worker's) and retries or archives them,
//! and the janitor deletes completed tasks past their retention.

use std::sync::Arc;

use chrono::Utc;

use super::WorkerShared;

/// The error the recoverer records on a task it takes back.
pub(crate) const LEASE_EXPIRED: &str = "asynq: task lease expired";

/// Makes due scheduled and retry tasks pending.
pub(crate) async fn forward(shared: &Arc<WorkerShared>) {
    for queue in shared.order.names() {
        match shared.core.broker.forward(queue).await {
            Ok(0) => {}
            Ok(moved) => {
                tracing::debug!(queue, moved, "due tasks made pending");
                shared.core.wake.notify_one();
            }
            Err(err) => tracing::error!(queue, error = %err, "could not forward due tasks"),
        }
    }
}

/// Retries (or archives, when out of retries) the tasks whose lease ended
/// more than the grace period ago.
pub(crate) async fn recover(shared: &Arc<WorkerShared>) {
    let settings = &shared.core.settings;
    let grace = chrono::Duration::from_std(settings.timings.recover_grace).unwrap_or(chrono::Duration::MAX);
    let broker = &shared.core.broker;
    for queue in shared.order.names() {
        let expired = match broker.lease_expired(queue, Utc::now() - grace).await {
            Ok(expired) => expired,
            Err(err) => {
                tracing::warn!(queue, error = %err, "could not list tasks with an expired lease");
                continue;
            }
        };
        for message in expired {
            let result = if message.retried >= message.retry {
                broker.archive(&message, LEASE_EXPIRED).await
            } else {
                let delay = settings.retry_delay.delay(u32::try_from(message.retried).unwrap_or(0));
                let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                broker.retry(&message, retry_at, LEASE_EXPIRED, true).await
            };
            match result {
                Ok(()) => tracing::warn!(queue, task_id = %message.id, "recovered a task whose lease expired"),
                Err(err) => tracing::warn!(queue, task_id = %message.id, error = %err, "could not recover a task"),
            }
        }
    }
}

/// Deletes completed tasks past their retention.
pub(crate) async fn clean(shared: &Arc<WorkerShared>) {
    for queue in shared.order.names() {
        if let Err(err) = shared.core.broker.purge_completed(queue).await {
            tracing::error!(queue, error = %err, "could not delete expired completed tasks");
        }
    }
}
