use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::authz::Permission;
use crate::model::{RoleId, TenantId};

/// A named set of permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Identity.
    pub id: RoleId,
    /// Tenant the role belongs to.
    pub tenant_id: TenantId,
    /// Unique within the tenant.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Permissions the role grants.
    pub permissions: Vec<Permission>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
