use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::authz::Permission;
use crate::model::{RequestContext, TenantId, UserId};

/// What authorization can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// No authenticated actor (→ 401).
    #[error("not authenticated")]
    Unauthenticated,
    /// Authenticated but lacking the permission (→ 403).
    #[error("missing permission {0}")]
    Forbidden(Permission),
    /// Permissions could not be resolved (→ 503).
    #[error("authorization backend failed")]
    Backend(#[source] BoxError),
}

/// Resolves a user's permissions through the cache (the seed's `PermissionResolver`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PermissionResolver: Interface {
    /// Whether the user holds `permission`.
    ///
    /// # Errors
    /// [`AuthzError::Backend`].
    async fn has_permission(
        &self,
        tenant: TenantId,
        user_id: UserId,
        permission: &Permission,
    ) -> Result<bool, AuthzError>;

    /// Every permission the user holds, sorted.
    ///
    /// # Errors
    /// [`AuthzError::Backend`].
    async fn user_permissions(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Permission>, AuthzError>;

    /// Forgets the user's cached permissions (after role changes).
    ///
    /// # Errors
    /// [`AuthzError::Backend`] when the cache cannot be cleared.
    async fn invalidate(&self, user_id: UserId) -> Result<(), AuthzError>;
}

/// Decides whether the caller may do something (the seed's `Authorizer`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Authorizer: Interface {
    /// `Ok` when the context's actor holds `permission`.
    ///
    /// # Errors
    /// [`AuthzError::Unauthenticated`], [`AuthzError::Forbidden`], [`AuthzError::Backend`].
    async fn authorize(&self, ctx: &RequestContext, permission: &Permission) -> Result<(), AuthzError>;
}
