//! The JSON the webhook routes read and write.

use chrono::{DateTime, Utc};
use platform_ports::model::{TenantId, rfc3339_micros};
use platform_ports::webhooks::{
    Delivery, DeliveryId, DeliveryStatus, Subscription, WebhookId, WebhookInput, WebhookPatch,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookBody {
    /// Where deliveries are POSTed (`http` or `https`; private addresses are
    /// refused unless `webhooks.allow_private_targets`).
    #[schema(example = "https://hooks.example.com/platform")]
    url: String,
    /// Event types, exact or with a final wildcard segment.
    #[schema(example = json!(["blog.post.*"]))]
    event_types: Vec<String>,
    /// Active unless false.
    #[serde(default)]
    active: Option<bool>,
}

impl From<WebhookBody> for WebhookInput {
    fn from(body: WebhookBody) -> Self {
        Self {
            url: body.url,
            event_types: body.event_types,
            active: body.active,
        }
    }
}

/// A change: absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatchBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    active: Option<bool>,
}

impl From<WebhookPatchBody> for WebhookPatch {
    fn from(body: WebhookPatchBody) -> Self {
        Self {
            url: body.url,
            event_types: body.event_types,
            active: body.active,
        }
    }
}

/// A subscription (its secret is shown only when it is created).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub(crate) struct WebhookView {
    #[schema(value_type = uuid::Uuid)]
    id: WebhookId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    url: String,
    event_types: Vec<String>,
    active: bool,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_micros")]
    updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookView {
    /// The view of a new subscription, with its secret.
    pub(crate) fn created(subscription: Subscription) -> Self {
        let secret = subscription.secret.expose().to_owned();
        Self {
            secret: Some(secret),
            ..Self::from(subscription)
        }
    }
}

impl From<Subscription> for WebhookView {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id,
            tenant_id: s.tenant_id,
            url: s.url,
            event_types: s.event_types,
            active: s.active,
            created_at: s.created_at,
            updated_at: s.updated_at,
            secret: None,
        }
    }
}

/// One event sent to the subscription, and how its attempts went.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
pub(crate) struct DeliveryView {
    #[schema(value_type = uuid::Uuid)]
    id: DeliveryId,
    /// The `webhook-id` header the receiver saw on every attempt.
    message_id: String,
    event_id: uuid::Uuid,
    event_type: String,
    /// `pending`, `succeeded` or `failed`.
    #[schema(value_type = String)]
    status: DeliveryStatus,
    attempts: u32,
    /// The last answer's status; `null` when there was none.
    #[schema(required = true)]
    response_status: Option<u16>,
    /// How long the last attempt took.
    #[schema(required = true)]
    duration_ms: Option<u64>,
    /// Why the last attempt failed.
    #[schema(required = true)]
    last_error: Option<String>,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_micros")]
    updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            message_id: d.id.message_id(),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            response_status: d.response_status,
            duration_ms: d.duration_ms,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}
