//! Webhooks, a feature module built like Blog: tenants subscribe URLs to
//! event types ([`WebhookManager`]); every event of the tenant that a
//! subscription wants becomes one delivery ([`WebhookFanout`]) sent by one
//! `webhook:deliver` job at a time ([`WebhookDeliveryJob`]), signed per
//! Standard Webhooks, retried with backoff on 5xx, 408, 429, timeouts and
//! connection errors, and marked failed when refused for good or out of
//! attempts.

mod delivery;
mod fanout;
mod manager;
mod policy;

#[cfg(test)]
mod tests;

pub use delivery::{DeliveryJob, WEBHOOK_QUEUE, WEBHOOK_TASK_TYPE, WebhookDeliveryJob, delivery_job};
pub use fanout::WebhookFanout;
pub use manager::{WebhookManager, WebhookManagerParameters};
pub use policy::{WebhookPolicy, WebhookPolicyParameters, WebhookRetry};

/// Audit actions of subscription changes.
pub mod actions {
    /// A subscription was created.
    pub const CREATED: &str = "webhook.created";
    /// A subscription was changed.
    pub const UPDATED: &str = "webhook.updated";
    /// A subscription was deleted.
    pub const DELETED: &str = "webhook.deleted";
    /// A delivery was sent again.
    pub const REDELIVERED: &str = "webhook.redelivered";
}
