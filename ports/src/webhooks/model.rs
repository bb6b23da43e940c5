use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{SecretString, TenantId};

crate::model::uuid_id! {
    /// A webhook subscription's id.
    WebhookId
}

crate::model::uuid_id! {
    /// One delivery's id: one event to one subscription, whatever the
    /// number of attempts.
    DeliveryId
}

impl DeliveryId {
    /// The `webhook-id` header: the same on every attempt and redelivery,
    /// so receivers deduplicate on it.
    #[must_use]
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.0.simple())
    }
}

/// A tenant's subscription to some of the platform's event types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Id.
    pub id: WebhookId,
    /// The tenant whose events it receives (and only them).
    pub tenant_id: TenantId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event types, exact (`blog.post.published`) or ending in a wildcard
    /// segment (`blog.post.*`, `*`).
    pub event_types: Vec<String>,
    /// The signing secret, `whsec_<base64>`.
    pub secret: SecretString,
    /// Inactive subscriptions receive nothing.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// Whether an event of `event_type` is for this subscription.
    #[must_use]
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.iter().any(|pattern| matches_type(pattern, event_type))
    }
}

/// `pattern` is an exact type, `*`, or a prefix ending in `.*` that matches
/// any type below it (`blog.post.*` matches `blog.post.published`).
#[must_use]
pub fn matches_type(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => event_type.starts_with(prefix) && event_type.len() > prefix.len(),
        _ => pattern == event_type,
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, or waiting for a retry.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Refused for good, or out of attempts.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// The status a stored name stands for.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One event sent to one subscription, and how its attempts went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Id (the `webhook-id` is derived from it).
    pub id: DeliveryId,
    /// The subscription.
    pub subscription_id: WebhookId,
    /// The subscription's tenant.
    pub tenant_id: TenantId,
    /// The event delivered: one delivery per (subscription, event).
    pub event_id: Uuid,
    /// Its type.
    pub event_type: String,
    /// The JSON body, signed byte for byte; the same on every attempt.
    pub body: String,
    /// The `traceparent` of the work that emitted the event, when known.
    pub trace_parent: Option<String>,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far (redeliveries included).
    pub attempts: u32,
    /// The last answer's HTTP status, when there was one.
    pub response_status: Option<u16>,
    /// How long the last attempt took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_segments_below_their_prefix() {
        assert!(matches_type("blog.post.*", "blog.post.published"));
        assert!(matches_type("blog.*", "blog.post.published"));
        assert!(matches_type("*", "platform.user.created"));
        assert!(matches_type("blog.post.published", "blog.post.published"));
        assert!(!matches_type("blog.post.*", "blog.post"));
        assert!(!matches_type("blog.post.*", "blog.postage.sent"));
        assert!(!matches_type("blog.post.published", "blog.post.deleted"));
        assert!(!matches_type("blog.post*", "blog.post.published"));
    }

    #[test]
    fn message_ids_are_stable_per_delivery() {
        let id = DeliveryId::new();
        assert_eq!(id.message_id(), id.message_id());
        assert!(id.message_id().starts_with("msg_"));
    }
}
