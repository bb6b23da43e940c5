use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Email, RoleId, TenantId, UserId};

/// A PHC-format password hash (`$argon2id$v=19$...`). Never serialized to clients.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([REDACTED])")
    }
}

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Tenant the user belongs to.
    pub tenant_id: TenantId,
    /// Normalized, unique within the tenant.
    pub email: Email,
    /// Display name.
    pub display_name: Option<String>,
    /// argon2id PHC string.
    pub password_hash: PasswordHash,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Whether the user asked for the digest mail of new posts (off by default).
    pub digest: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Filters for listing users.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilter {
    /// Substring of the email (case-insensitive).
    pub email_contains: Option<String>,
    /// Only verified / unverified users.
    pub email_verified: Option<bool>,
    /// Only users holding this role.
    pub role_id: Option<RoleId>,
}

/// A partial profile update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdates {
    /// New display name (`Some(None)` clears it).
    pub display_name: Option<Option<String>>,
    /// New email (becomes unverified).
    pub email: Option<Email>,
    /// Opt in to (or out of) the digest mail.
    #[serde(default)]
    pub digest: Option<bool>,
}

/// A user who opted in to the digest, with the digest bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRecipient {
    /// The user.
    pub user: User,
    /// The end of the last period whose digest was queued for the user
    /// (`None` before the first one).
    pub last_period_end: Option<DateTime<Utc>>,
}
