//! The `webhook:deliver` job: one attempt of one delivery, and the next
//! attempt scheduled with backoff when this one may pass later.
//!
//! The job schedules its own retry (a new job, after the policy's delay)
//! instead of failing into the queue's retry, so the schedule is the one
//! `webhooks.*` configures and the delivery log counts every attempt.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::clock::Clock;
use platform_ports::jobs::{JobError, JobHandler, JobId, JobQueue, NewJob, SkipRetry};
use platform_ports::notify::WebhookRequest;
use platform_ports::webhooks::{Delivery, DeliveryId, DeliveryStatus, WebhookRepository};
use serde::{Deserialize, Serialize};

use super::WebhookRetry;
use crate::notify::{NOTIFY_QUEUE, NotifyChannels};

/// The task type of delivery jobs (a public contract, like `notify:*`).
pub const WEBHOOK_TASK_TYPE: &str = "webhook:deliver";
/// The queue delivery jobs wait in.
pub const WEBHOOK_QUEUE: &str = NOTIFY_QUEUE;
/// Retries of the job itself, for a store or queue failure around the
/// attempt (the attempts at the receiver are counted by the delivery).
const JOB_RETRIES: u32 = 5;

/// A `webhook:deliver` payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryJob {
    /// The delivery to attempt.
    pub delivery: DeliveryId,
    /// The delivery's attempts when this round began (a redelivery starts
    /// a new round with a full budget).
    pub round_start: u32,
}

/// The job of the next attempt of `delivery`. Its id names the delivery and
/// its attempts so far, so a repeated fan-out or a double click enqueues it once.
#[must_use]
pub fn delivery_job(delivery: &Delivery, round_start: u32) -> NewJob {
    let payload = DeliveryJob {
        delivery: delivery.id,
        round_start,
    };
    // Serializing two plain fields cannot fail.
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    NewJob::new(WEBHOOK_QUEUE, WEBHOOK_TASK_TYPE, payload)
        .max_retries(JOB_RETRIES)
        .with_id(job_id(delivery))
}

/// `webhook-<delivery>-<attempts so far>`: unique per attempt, the same
/// for twins of one attempt.
fn job_id(delivery: &Delivery) -> JobId {
    let id = format!("webhook-{}-{}", delivery.id.0.simple(), delivery.attempts);
    // Never blank, so parsing cannot fail; a random id would lose only the dedup.
    JobId::parse(id).unwrap_or_default()
}

/// Enqueues the next attempt, after `delay` when given; already queued is fine.
pub(super) async fn enqueue_attempt(
    jobs: &dyn JobQueue,
    delivery: &Delivery,
    round_start: u32,
    delay: Option<std::time::Duration>,
) -> Result<(), JobError> {
    let mut job = delivery_job(delivery, round_start);
    if let Some(delay) = delay {
        job = job.after(delay);
    }
    match jobs.enqueue(job).await {
        Ok(_) | Err(JobError::IdConflict(_) | JobError::Duplicate) => Ok(()),
        Err(err) => Err(err),
    }
}

/// Handles `webhook:deliver`.
pub struct WebhookDeliveryJob {
    webhooks: Arc<dyn WebhookRepository>,
    channels: Arc<dyn NotifyChannels>,
    jobs: Arc<dyn JobQueue>,
    retry: Arc<dyn WebhookRetry>,
    clock: Arc<dyn Clock>,
}

impl WebhookDeliveryJob {
    /// A handler over these ports.
    #[must_use]
    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        channels: Arc<dyn NotifyChannels>,
        jobs: Arc<dyn JobQueue>,
        retry: Arc<dyn WebhookRetry>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            webhooks,
            channels,
            jobs,
            retry,
            clock,
        }
    }

    async fn fail(&self, mut delivery: Delivery, reason: &str) -> Result<(), BoxError> {
        delivery.status = DeliveryStatus::Failed;
        delivery.last_error = Some(reason.to_owned());
        delivery.updated_at = self.clock.now();
        self.webhooks.save_delivery(&delivery).await?;
        tracing::warn!(delivery_id = %delivery.id, reason, "webhook delivery failed for good");
        Ok(())
    }
}

#[async_trait]
impl JobHandler for WebhookDeliveryJob {
    async fn handle(&self, payload: &[u8]) -> Result<(), BoxError> {
        let job: DeliveryJob =
            serde_json::from_slice(payload).map_err(|e| SkipRetry(format!("`{WEBHOOK_TASK_TYPE}` payload: {e}")))?;
        // Gone with its subscription, or already settled by a twin job.
        let Some(mut delivery) = self.webhooks.find_delivery(job.delivery).await? else {
            return Ok(());
        };
        if delivery.status != DeliveryStatus::Pending {
            return Ok(());
        }
        let Some(subscription) = self.webhooks.find(delivery.tenant_id, delivery.subscription_id).await? else {
            return Ok(());
        };
        if !subscription.active {
            return self.fail(delivery, "the subscription is inactive").await;
        }
        let Some(sender) = self.channels.webhooks() else {
            return self.fail(delivery, "no webhook sender is configured").await;
        };
        let request = WebhookRequest {
            url: subscription.url.clone(),
            message_id: delivery.id.message_id(),
            timestamp: self.clock.now(),
            body: delivery.body.clone(),
            secrets: vec![subscription.secret.clone()],
            // The worker's span (a child of the event's trace) when traces
            // are exported, so the receiver's spans hang under this attempt.
            trace_parent: platform_ports::telemetry::current_traceparent().or_else(|| delivery.trace_parent.clone()),
        };
        delivery.attempts += 1;
        let mut retry_after = None;
        match sender.deliver(&request).await {
            Ok(answer) => {
                delivery.status = DeliveryStatus::Succeeded;
                delivery.response_status = Some(answer.status);
                delivery.duration_ms = Some(millis(answer.duration));
                delivery.last_error = None;
            }
            Err(failure) => {
                delivery.response_status = failure.status;
                delivery.duration_ms = Some(millis(failure.duration));
                delivery.last_error = Some(error_chain(&failure.error));
                let used = delivery.attempts.saturating_sub(job.round_start);
                if failure.error.is_permanent() || used >= self.retry.max_attempts() {
                    delivery.status = DeliveryStatus::Failed;
                    tracing::warn!(delivery_id = %delivery.id, attempts = used, error = %failure.error,
                        "webhook delivery failed for good");
                } else {
                    retry_after = Some(self.retry.delay(used));
                    tracing::info!(delivery_id = %delivery.id, attempts = used, error = %failure.error,
                        "webhook delivery failed; retrying");
                }
            }
        }
        delivery.updated_at = self.clock.now();
        self.webhooks.save_delivery(&delivery).await?;
        if let Some(delay) = retry_after {
            enqueue_attempt(self.jobs.as_ref(), &delivery, job.round_start, Some(delay)).await?;
        }
        Ok(())
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// An error and its causes on one line (the log keeps the receiver's reason).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
