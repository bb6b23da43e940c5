//! The JSON the security routes read and write. Response types are explicit
//! so the wire shape never follows a domain change by accident, and a user
//! body has no place for a password hash.

use chrono::{DateTime, Utc};
use platform_ports::model::{
    AuditEntry, Page, Permission, Role, RoleId, SecretString, TenantId, TokenPair, User, UserId,
};
use serde::{Deserialize, Deserializer, Serialize};

/// `POST auth/register`.
#[derive(Debug, Deserialize)]
pub(crate) struct RegisterBody {
    pub(crate) email: String,
    pub(crate) password: SecretString,
    #[serde(default)]
    pub(crate) display_name: Option<String>,
}

/// `POST auth/login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginBody {
    pub(crate) email: String,
    pub(crate) password: SecretString,
}

/// `POST auth/verify-email`.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenBody {
    pub(crate) token: SecretString,
}

/// `POST auth/refresh` and `POST auth/logout`.
#[derive(Debug, Deserialize)]
pub(crate) struct RefreshBody {
    pub(crate) refresh_token: SecretString,
}

/// `POST auth/password/forgot`.
#[derive(Debug, Deserialize)]
pub(crate) struct ForgotBody {
    pub(crate) email: String,
}

/// `POST auth/password/reset`.
#[derive(Debug, Deserialize)]
pub(crate) struct ResetBody {
    pub(crate) token: SecretString,
    pub(crate) new_password: SecretString,
}

/// `POST auth/password/change`.
#[derive(Debug, Deserialize)]
pub(crate) struct ChangePasswordBody {
    pub(crate) old_password: SecretString,
    pub(crate) new_password: SecretString,
}

/// `PATCH users/me` and `PATCH users/{id}`. Unknown fields are refused: a
/// misspelt field would otherwise be a silent no-op update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileBody {
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    pub(crate) display_name: Option<Option<String>>,
    #[serde(default)]
    pub(crate) email: Option<String>,
}

/// `POST roles`.
#[derive(Debug, Deserialize)]
pub(crate) struct CreateRoleBody {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) permissions: Vec<String>,
}

/// `PATCH roles/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRoleBody {
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Absent: unchanged; `null`: cleared.
    #[serde(default, deserialize_with = "present")]
    pub(crate) description: Option<Option<String>>,
}

/// `PUT roles/{id}/permissions`.
#[derive(Debug, Deserialize)]
pub(crate) struct PermissionsBody {
    pub(crate) permissions: Vec<String>,
}

/// `POST users/{id}/roles`.
#[derive(Debug, Deserialize)]
pub(crate) struct AssignRoleBody {
    pub(crate) role_id: RoleId,
}

/// Tells a field sent as `null` (`Some(None)`) from an absent one (`None`,
/// through `#[serde(default)]`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A user as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct UserView {
    id: UserId,
    tenant_id: TenantId,
    email: String,
    display_name: Option<String>,
    email_verified: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            tenant_id: user.tenant_id,
            email: user.email.into(),
            display_name: user.display_name,
            email_verified: user.email_verified,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A role as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct RoleView {
    id: RoleId,
    tenant_id: TenantId,
    name: String,
    description: Option<String>,
    permissions: Vec<Permission>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Role> for RoleView {
    fn from(role: Role) -> Self {
        Self {
            id: role.id,
            tenant_id: role.tenant_id,
            name: role.name,
            description: role.description,
            permissions: role.permissions,
            created_at: role.created_at,
            updated_at: role.updated_at,
        }
    }
}

/// A token pair as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct TokenPairView {
    access_token: String,
    refresh_token: String,
    token_type: String,
    expires_in: u64,
}

impl From<TokenPair> for TokenPairView {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: pair.token_type,
            expires_in: pair.expires_in,
        }
    }
}

/// An audit entry as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct AuditEntryView {
    id: platform_ports::model::AuditId,
    tenant_id: TenantId,
    actor_id: Option<UserId>,
    action: String,
    target_id: Option<String>,
    metadata: std::collections::BTreeMap<String, serde_json::Value>,
    occurred_at: DateTime<Utc>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            tenant_id: entry.tenant_id,
            actor_id: entry.actor_id,
            action: entry.action,
            target_id: entry.target_id,
            metadata: entry.metadata,
            occurred_at: entry.occurred_at,
            request_id: entry.request_id,
            ip: entry.ip,
            user_agent: entry.user_agent,
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub(crate) struct ListView<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

impl<T> ListView<T> {
    /// A page of domain items in their client shape.
    pub(crate) fn page<D>(page: Page<D>) -> Self
    where
        T: From<D>,
    {
        let page = page.map(T::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }

    /// A whole list: one page, no cursor.
    pub(crate) fn all(items: Vec<T>) -> Self {
        Self {
            items,
            next_cursor: None,
        }
    }
}

/// `{"items": [...]}` for lists that are never paged (the permissions).
#[derive(Debug, Serialize)]
pub(crate) struct ItemsView<T> {
    pub(crate) items: Vec<T>,
}

/// `{"status": "accepted"}`.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    pub(crate) status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_are_different_updates() {
        let absent: ProfileBody = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.display_name, None);
        let null: ProfileBody = serde_json::from_str(r#"{"display_name": null}"#).unwrap();
        assert_eq!(null.display_name, Some(None));
        let set: ProfileBody = serde_json::from_str(r#"{"display_name": "Ada"}"#).unwrap();
        assert_eq!(set.display_name, Some(Some("Ada".to_owned())));
        assert!(serde_json::from_str::<ProfileBody>(r#"{"displayName": "Ada"}"#).is_err());
    }
}
