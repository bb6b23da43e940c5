//! Small builders shared by the use cases: audit entries and events stamped
//! from the request context, and store-error mapping.

use std::collections::BTreeMap;

use platform_ports::audit::AuditEntry;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Event;
use platform_ports::model::{AuditId, EventId, FieldError, RequestContext, TenantId, UserId, ValidationErrors};

/// The topic of identity events (users, roles, permissions): one topic, so
/// events of one aggregate keep their order.
pub const IDENTITY_TOPIC: &str = "platform.identity";

/// An audit entry for `action` on `target`, attributed from the context.
pub fn audit_entry(
    ctx: &RequestContext,
    clock: &dyn Clock,
    ids: &dyn IdGenerator,
    action: &str,
    target: Option<String>,
    mut metadata: BTreeMap<String, serde_json::Value>,
) -> AuditEntry {
    stamp_api_key(ctx, &mut metadata);
    AuditEntry {
        id: AuditId(ids.new_id()),
        tenant_id: ctx.tenant_id,
        actor_id: ctx.user_id(),
        action: action.to_owned(),
        target_id: target,
        metadata,
        occurred_at: clock.now(),
        request_id: Some(ctx.request_id.to_string()).filter(|r| !r.is_empty()),
        ip: ctx.client_ip.map(|ip| ip.to_string()),
        user_agent: ctx.user_agent.as_deref().map(str::to_owned),
    }
}

/// Same as [`audit_entry`] with an explicit actor (a failed login names the
/// account it targeted; the system acts for nobody).
pub fn audit_entry_as(
    ctx: &RequestContext,
    clock: &dyn Clock,
    ids: &dyn IdGenerator,
    actor: Option<UserId>,
    action: &str,
    target: Option<String>,
    metadata: BTreeMap<String, serde_json::Value>,
) -> AuditEntry {
    let mut entry = audit_entry(ctx, clock, ids, action, target, metadata);
    if actor != entry.actor_id {
        // Someone other than the caller is named: the key did not act.
        entry.metadata.remove(ACTOR_KIND);
        entry.metadata.remove(ACTOR_API_KEY);
    }
    entry.actor_id = actor;
    entry
}

/// Audit metadata key naming what kind of credential acted (`api_key`);
/// absent for a user's own session.
pub const ACTOR_KIND: &str = "actor_kind";
/// Audit metadata key holding the id of the API key that acted.
pub const ACTOR_API_KEY: &str = "api_key_id";

/// Names the API key in an entry's metadata when the caller used one: the
/// entry's `actor_id` is then the key's creator, on whose behalf it acts.
pub fn stamp_api_key(ctx: &RequestContext, metadata: &mut BTreeMap<String, serde_json::Value>) {
    if let Some(grant) = ctx.api_key() {
        metadata.insert(ACTOR_KIND.to_owned(), serde_json::Value::from("api_key"));
        metadata.insert(
            ACTOR_API_KEY.to_owned(),
            serde_json::Value::from(grant.key_id.to_string()),
        );
    }
}

/// The validation error of a list asked for with a cursor it did not make
/// (stores report such a cursor as a conflict).
pub(crate) fn foreign_cursor() -> ValidationErrors {
    FieldError::new("cursor", "invalid", "is not a cursor this list returned").into()
}

/// The validation error of a value the store refused as malformed
/// (`StoreError::Invalid`): the request's fault, so a 422 and not a 503.
/// The domain's own rules should have caught it; the field is not known here.
pub(crate) fn unstorable(reason: &str) -> ValidationErrors {
    FieldError::new("body", "unstorable", format!("a value could not be stored ({reason})")).into()
}

/// A domain event about `aggregate`, stamped with the clock, a fresh id and
/// the trace context of the span it is built in (so the subscriber that
/// handles it joins the request's trace).
pub fn event(
    clock: &dyn Clock,
    ids: &dyn IdGenerator,
    event_type: &str,
    source: &str,
    tenant: TenantId,
    aggregate: String,
    data: serde_json::Value,
) -> Event {
    Event {
        id: EventId(ids.new_id()),
        event_type: event_type.to_owned(),
        source: source.to_owned(),
        timestamp: clock.now(),
        tenant_id: tenant,
        aggregate_id: Some(aggregate),
        trace_parent: platform_ports::telemetry::current_traceparent(),
        data,
    }
}

/// Builds audit metadata from pairs.
#[macro_export]
macro_rules! meta {
    () => { ::std::collections::BTreeMap::<String, ::serde_json::Value>::new() };
    ($($k:literal => $v:expr),+ $(,)?) => {{
        let mut m = ::std::collections::BTreeMap::<String, ::serde_json::Value>::new();
        $( m.insert($k.to_owned(), ::serde_json::json!($v)); )+
        m
    }};
}
