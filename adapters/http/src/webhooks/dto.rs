//! The JSON the webhook routes read and write.

use chrono::{DateTime, Utc};
use platform_ports::model::{TenantId, rfc3339_micros};
use platform_ports::webhooks::{
    Delivery, DeliveryId, DeliveryStatus, Subscription, WebhookId, WebhookInput, WebhookPatch,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An event type or pattern (`core::webhooks`' `valid_pattern`): dot-separated
/// segments of `[a-z0-9_]`, the last of which may be `*`.
const EVENT_TYPE_PATTERN: &str = r"^([a-z0-9_]+\.)*([a-z0-9_]+|\*)$";

fn event_types_array() -> utoipa::openapi::schema::ArrayBuilder {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(EVENT_TYPE_PATTERN))
                .max_length(Some(200)),
        )
        .min_items(Some(1))
        .max_items(Some(50))
}

/// The schema of a subscription's event types.
fn event_types() -> utoipa::openapi::schema::Array {
    event_types_array().build()
}

/// The same, or `null` (a patch that leaves them unchanged).
fn event_types_or_null() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{SchemaType, Type};
    event_types_array()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .build()
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookBody {
    /// Where deliveries are POSTed. Trimmed, an `http` or `https` URL of at
    /// most 2048 characters without control characters (U+0000–U+001F,
    /// U+007F–U+009F). Unless `webhooks.allow_private_targets`, its host must
    /// be, or resolve when the call is made only to, public addresses: a URL
    /// that does not parse, or a host that does not resolve so, is 422
    /// `refused_target`.
    #[schema(
        example = "https://example.com/platform/webhooks",
        max_length = 2048,
        pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?:[^\u0000-\u001F\u007F-\u009F]*\s*$"
    )]
    url: String,
    /// 1 to 50 event types, each exact (`blog.post.published`) or with a
    /// final wildcard segment (`blog.post.*`, `*`).
    #[schema(schema_with = event_types, example = json!(["blog.post.*"]))]
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

/// A change: absent (or `null`) fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookPatchBody {
    /// As in `WebhookBody`.
    #[serde(default)]
    #[schema(
        example = "https://example.com/platform/webhooks",
        max_length = 2048,
        pattern = r"^\s*[Hh][Tt][Tt][Pp][Ss]?:[^\u0000-\u001F\u007F-\u009F]*\s*$"
    )]
    url: Option<String>,
    /// As in `WebhookBody`.
    #[serde(default)]
    #[schema(schema_with = event_types_or_null)]
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
