//! The JSON the security routes read and write. Response types are explicit
//! so the wire shape never follows a domain change by accident, and a user
//! body has no place for a password hash. Each derives its OpenAPI schema,
//! so the document describes exactly what is (de)serialized.

use chrono::{DateTime, Utc};
use platform_ports::audit::{AuditEntry, ChainFault, ChainReport};
use platform_ports::auth::TokenPair;
use platform_ports::authz::Permission;
use platform_ports::identity::{Role, User};
use platform_ports::model::{RoleId, SecretString, TenantId, UserId, rfc3339_micros};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Registers an account (`POST /api/v1/auth/register`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RegisterBody {
    /// The login email; a verification message is mailed to it.
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub(crate) email: String,
    /// 12 (`auth.password.min_length`) to 1024 characters, not equal to the email.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    pub(crate) password: SecretString,
    /// An optional name to show: at most 100 characters once trimmed, no
    /// control characters; blank means none.
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub(crate) display_name: Option<String>,
}

/// Email and password (`POST /api/v1/auth/login`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    /// The login email.
    #[schema(format = Email)]
    pub(crate) email: String,
    /// The password.
    #[schema(value_type = String, format = Password)]
    pub(crate) password: SecretString,
}

/// A mailed token (`POST /api/v1/auth/verify-email`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct TokenBody {
    /// The token from the verification message.
    #[schema(value_type = String, format = Password)]
    pub(crate) token: SecretString,
}

/// A refresh token (`POST /api/v1/auth/refresh` and `/logout`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RefreshBody {
    /// The refresh token of the latest token pair.
    #[schema(value_type = String, format = Password)]
    pub(crate) refresh_token: SecretString,
}

/// Asks for a password-reset message (`POST /api/v1/auth/password/forgot`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ForgotBody {
    /// The account's email. Any text is answered 202 alike (a malformed
    /// address, like an unknown one, gets no mail), so the answer never tells
    /// which addresses have accounts; hence no `format` here.
    pub(crate) email: String,
}

/// Sets a new password with a mailed token (`POST /api/v1/auth/password/reset`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ResetBody {
    /// The token from the reset message.
    #[schema(value_type = String, format = Password)]
    pub(crate) token: SecretString,
    /// The new password: 12 (`auth.password.min_length`) to 1024 characters.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    pub(crate) new_password: SecretString,
}

/// Changes the caller's password (`POST /api/v1/auth/password/change`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ChangePasswordBody {
    /// The current password.
    #[schema(value_type = String, format = Password)]
    pub(crate) old_password: SecretString,
    /// The new password: 12 (`auth.password.min_length`) to 1024 characters, not the email.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    pub(crate) new_password: SecretString,
}

/// A partial profile update; absent fields stay unchanged. Unknown fields are
/// refused: a misspelt field would otherwise be a silent no-op update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileBody {
    /// Absent: unchanged; `null` or blank: cleared. At most 100 characters
    /// once trimmed, no control characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub(crate) display_name: Option<Option<String>>,
    /// A new email.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub(crate) email: Option<String>,
}

/// A partial update of the caller's own profile (`PATCH /users/me`): the
/// fields of [`ProfileBody`] and the caller's own preferences, which an
/// administrator does not set for them. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = OwnProfileUpdate)]
pub(crate) struct OwnProfileBody {
    /// Absent: unchanged; `null` or blank: cleared. At most 100 characters
    /// once trimmed, no control characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub(crate) display_name: Option<Option<String>>,
    /// A new email.
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    pub(crate) email: Option<String>,
    /// `true` to receive the digest mail of posts published in the tenant
    /// (on the `digest.schedule`, weekly by default), `false` to stop it.
    #[serde(default)]
    pub(crate) digest: Option<bool>,
}

/// Creates a role (`POST /api/v1/roles`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CreateRoleBody {
    /// Unique in the tenant: 1 to 64 letters, digits, spaces, `_`, `.` or
    /// `-`, starting with a letter or digit (surrounding spaces are trimmed).
    #[schema(pattern = r"^\s*[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}\s*$")]
    pub(crate) name: String,
    /// What the role is for: at most 500 characters once trimmed; line
    /// breaks and tabs are the only control characters allowed.
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub(crate) description: Option<String>,
    /// Declared permissions to grant (see `GET /api/v1/permissions`).
    #[serde(default)]
    #[schema(schema_with = permission_names)]
    pub(crate) permissions: Vec<String>,
}

/// Renames or redescribes a role; absent fields stay unchanged.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRoleBody {
    /// A new unique name (same rule as on create); absent or blank: unchanged.
    #[serde(default)]
    #[schema(pattern = r"^\s*([A-Za-z0-9][A-Za-z0-9 _.-]{0,63})?\s*$")]
    pub(crate) name: Option<String>,
    /// Absent: unchanged; `null` or blank: cleared. At most 500 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$")]
    pub(crate) description: Option<Option<String>>,
}

/// Replaces a role's permissions (`PUT /api/v1/roles/{id}/permissions`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PermissionsBody {
    /// Declared permissions; the role gets exactly these.
    #[schema(schema_with = permission_names)]
    pub(crate) permissions: Vec<String>,
}

/// Assigns a role (`POST /api/v1/users/{id}/roles`).
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AssignRoleBody {
    /// The role to assign.
    #[schema(value_type = uuid::Uuid)]
    pub(crate) role_id: RoleId,
}

/// The pattern of a permission's name (`Permission::parse`): two or three
/// lower-case segments of letters, digits and `_`, each starting with a letter.
pub(crate) const PERMISSION_PATTERN: &str = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$";

/// The schema of a list of permission names; only declared permissions are
/// accepted (422 `unknown_permission`).
fn permission_names() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(PERMISSION_PATTERN))
                .max_length(Some(128))
                .examples(["identity.user.read"]),
        )
        .build()
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

/// A user account; never carries the password hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserView {
    #[schema(value_type = uuid::Uuid)]
    id: UserId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    #[schema(format = Email)]
    email: String,
    #[schema(required = true)]
    display_name: Option<String>,
    email_verified: bool,
    /// Whether the user receives the digest of new posts (`PATCH /users/me`).
    digest: bool,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_micros")]
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
            digest: user.digest,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// A role and the permissions it grants.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Role)]
pub(crate) struct RoleView {
    #[schema(value_type = uuid::Uuid)]
    id: RoleId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    name: String,
    #[schema(required = true)]
    description: Option<String>,
    #[schema(value_type = Vec<String>)]
    permissions: Vec<Permission>,
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_micros")]
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

/// An access token and the refresh token that renews it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TokenPair)]
pub(crate) struct TokenPairView {
    /// Send as `Authorization: Bearer <access_token>`.
    access_token: String,
    /// Single use: `POST /api/v1/auth/refresh` returns a new pair.
    refresh_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: String,
    /// Seconds until the access token expires.
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

/// One recorded change or security event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditEntry)]
pub(crate) struct AuditEntryView {
    #[schema(value_type = uuid::Uuid)]
    id: platform_ports::model::AuditId,
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// The user who acted; `null` for the system or an anonymous caller.
    #[schema(value_type = Option<uuid::Uuid>, required = true)]
    actor_id: Option<UserId>,
    /// What happened, e.g. `user.created`.
    action: String,
    /// What it happened to.
    #[schema(required = true)]
    target_id: Option<String>,
    /// Action-specific details.
    #[schema(value_type = Object)]
    metadata: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(serialize_with = "rfc3339_micros")]
    occurred_at: DateTime<Utc>,
    #[schema(required = true)]
    request_id: Option<String>,
    #[schema(required = true)]
    ip: Option<String>,
    #[schema(required = true)]
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

/// The outcome of walking the tenant's audit chain
/// (`GET /api/v1/audit/verify`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChainReportView {
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// `true` when every link and the latest checkpoint check out.
    intact: bool,
    /// Entries whose links checked out (all of them when intact).
    verified: u64,
    /// The sequence number of the latest signed checkpoint checked.
    #[schema(required = true)]
    checkpoint_seq: Option<u64>,
    /// The first broken link; `null` when intact.
    #[schema(required = true)]
    broken: Option<BrokenLinkView>,
}

/// Where the chain breaks and what differs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BrokenLinkView {
    /// The entry at fault; `null` past the last entry (a removed tail).
    #[schema(value_type = Option<uuid::Uuid>, required = true)]
    entry_id: Option<platform_ports::model::AuditId>,
    /// The sequence number where the walk stopped.
    seq: u64,
    /// `content_hash`, `previous_hash`, `sequence`, `truncated`,
    /// `checkpoint_mismatch`, `checkpoint_signature` or `head_mismatch`.
    kind: String,
    /// The values that differ (hashes as hex), by name.
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl From<ChainReport> for ChainReportView {
    fn from(report: ChainReport) -> Self {
        Self {
            tenant_id: report.tenant_id,
            intact: report.broken.is_none(),
            verified: report.verified,
            checkpoint_seq: report.checkpoint_seq,
            broken: report.broken.map(|b| {
                // The fault is tagged by `kind`; split it into the kind and
                // the rest so clients switch on one stable string.
                let mut details = serde_json::to_value(&b.fault).unwrap_or_default();
                let kind = details
                    .as_object_mut()
                    .and_then(|o| o.remove("kind"))
                    .and_then(|k| k.as_str().map(str::to_owned))
                    .unwrap_or_else(|| fault_kind(&b.fault).to_owned());
                BrokenLinkView {
                    entry_id: b.entry_id,
                    seq: b.seq,
                    kind,
                    details,
                }
            }),
        }
    }
}

fn fault_kind(fault: &ChainFault) -> &'static str {
    match fault {
        ChainFault::ContentHash { .. } => "content_hash",
        ChainFault::PreviousHash { .. } => "previous_hash",
        ChainFault::Sequence { .. } => "sequence",
        ChainFault::Truncated { .. } => "truncated",
        ChainFault::CheckpointMismatch { .. } => "checkpoint_mismatch",
        ChainFault::CheckpointSignature { .. } => "checkpoint_signature",
        ChainFault::HeadMismatch { .. } => "head_mismatch",
    }
}

/// `{"items": [...]}` for lists that are never paged (the permissions).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemsView<T> {
    /// Every item.
    pub(crate) items: Vec<T>,
}

/// The request was taken; the outcome is not disclosed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Accepted {
    /// Always `accepted`.
    #[schema(example = "accepted")]
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
