//! [`WebhookFanout`]: every event becomes one delivery per subscription of
//! its tenant that wants it, each sent by its own job.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::{Event, EventHandler};
use platform_ports::jobs::JobQueue;
use platform_ports::webhooks::{Delivery, DeliveryId, DeliveryStatus, WebhookRepository};
use serde_json::json;

use super::delivery::enqueue_attempt;

/// Turns events into deliveries.
///
/// Idempotent: a delivery is unique per (subscription, event), and its
/// first job's id is derived from it, so an event the bus repeats neither
/// records nor sends anything twice.
pub struct WebhookFanout {
    webhooks: Arc<dyn WebhookRepository>,
    jobs: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl WebhookFanout {
    /// A fan-out over these ports.
    #[must_use]
    pub fn new(
        webhooks: Arc<dyn WebhookRepository>,
        jobs: Arc<dyn JobQueue>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            webhooks,
            jobs,
            clock,
            ids,
        }
    }
}

/// The body receivers get: the Standard Webhooks payload shape.
fn body(event: &Event) -> String {
    json!({
        "type": event.event_type,
        "timestamp": event.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": event.data,
    })
    .to_string()
}

#[async_trait]
impl EventHandler for WebhookFanout {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        let subscriptions = self.webhooks.active(event.tenant_id).await?;
        for subscription in subscriptions.iter().filter(|s| s.wants(&event.event_type)) {
            let now = self.clock.now();
            let candidate = Delivery {
                id: DeliveryId(self.ids.new_id()),
                subscription_id: subscription.id,
                tenant_id: event.tenant_id,
                event_id: event.id.0,
                event_type: event.event_type.clone(),
                body: body(event),
                trace_parent: event.trace_parent.clone(),
                status: DeliveryStatus::Pending,
                attempts: 0,
                response_status: None,
                duration_ms: None,
                last_error: None,
                created_at: now,
                updated_at: now,
            };
            let delivery = match self.webhooks.add_delivery(&candidate).await {
                Ok((delivery, _)) => delivery,
                // Deleted since it was listed: nothing to send it.
                Err(platform_ports::StoreError::NotFound) => continue,
                Err(err) => return Err(err.into()),
            };
            // A repeat finds the delivery recorded: its first job is sent
            // again only if it never ran (its id makes the queue refuse a twin).
            if delivery.status == DeliveryStatus::Pending && delivery.attempts == 0 {
                enqueue_attempt(self.jobs.as_ref(), &delivery, 0, None).await?;
            }
        }
        Ok(())
    }
}
