use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AuditId, TenantId, UserId};

/// One immutable audit record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Identity (v7: sorts by time).
    pub id: AuditId,
    /// Tenant the action happened in.
    pub tenant_id: TenantId,
    /// Who acted (`None` for the system or an anonymous caller).
    pub actor_id: Option<UserId>,
    /// What was done, e.g. `user.created`, `role.assigned`.
    pub action: String,
    /// What it was done to.
    pub target_id: Option<String>,
    /// Extra facts (never secrets).
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Correlation id of the request.
    pub request_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// What a caller asks to record (the seed's `AuditAction`); the rest comes
/// from the request context.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditAction {
    /// Overrides the context's actor (e.g. a failed login's claimed user).
    pub actor_id: Option<UserId>,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target_id: Option<String>,
    /// Extra facts.
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// Filters for querying the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// Only this actor.
    pub actor_id: Option<UserId>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this target.
    pub target_id: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}
