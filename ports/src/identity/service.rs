use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;
use crate::authz::Permission;
use crate::identity::{Role, User, UserFilter, UserUpdates};
use crate::model::{Page, PageRequest, RequestContext, RoleId, SecretString, UserId, ValidationErrors};

/// What identity use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input is invalid.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// The user or role does not exist (in the caller's tenant).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit (email taken, role name taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The old password is wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The mailed token is unknown, used or expired.
    #[error("invalid or expired token")]
    InvalidToken,
    /// Too many attempts.
    #[error("rate limited")]
    RateLimited {
        /// When the client may try again.
        retry_after: std::time::Duration,
    },
    /// A dependency failed.
    #[error("identity backend failed")]
    Backend(#[source] BoxError),
}

/// Registration input.
#[derive(Clone, Debug)]
pub struct RegisterUser {
    /// As typed; normalized by the service.
    pub email: String,
    /// The chosen password.
    pub password: SecretString,
    /// Optional display name.
    pub display_name: Option<String>,
}

/// Users and their lifecycle (the seed's `UserService`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UserService: Interface {
    /// Registers a user and mails a verification token.
    ///
    /// # Errors
    /// [`IdentityError::Validation`], [`IdentityError::Conflict`], [`IdentityError::Backend`].
    async fn register(&self, ctx: &RequestContext, input: RegisterUser) -> Result<User, IdentityError>;

    /// Marks the token's user verified.
    ///
    /// # Errors
    /// [`IdentityError::InvalidToken`], [`IdentityError::Backend`].
    async fn verify_email(&self, ctx: &RequestContext, token: &SecretString) -> Result<(), IdentityError>;

    /// Mails a reset token if the email exists; answers the same either way.
    ///
    /// # Errors
    /// [`IdentityError::Backend`] only.
    async fn request_password_reset(&self, ctx: &RequestContext, email: &str) -> Result<(), IdentityError>;

    /// Sets a new password with a mailed token and revokes every session.
    ///
    /// # Errors
    /// [`IdentityError::InvalidToken`], [`IdentityError::Validation`], [`IdentityError::Backend`].
    async fn reset_password(
        &self,
        ctx: &RequestContext,
        token: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError>;

    /// Changes the caller's password and revokes their other sessions.
    ///
    /// # Errors
    /// [`IdentityError::InvalidCredentials`], [`IdentityError::Validation`], [`IdentityError::Backend`].
    async fn change_password(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError>;

    /// Updates a profile.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Validation`], [`IdentityError::Conflict`], [`IdentityError::Backend`].
    async fn update_profile(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        updates: UserUpdates,
    ) -> Result<User, IdentityError>;

    /// One user of the caller's tenant.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn get(&self, ctx: &RequestContext, user_id: UserId) -> Result<User, IdentityError>;

    /// Users of the caller's tenant.
    ///
    /// # Errors
    /// [`IdentityError::Validation`] (bad cursor), [`IdentityError::Backend`].
    async fn list(
        &self,
        ctx: &RequestContext,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, IdentityError>;

    /// Creates (or completes) the bootstrap administrator: a verified user
    /// holding an `admin` role with every declared permission. Idempotent.
    ///
    /// # Errors
    /// [`IdentityError::Validation`] (bad email or weak password), [`IdentityError::Backend`].
    async fn ensure_admin(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &SecretString,
    ) -> Result<User, IdentityError>;

    /// Deletes a user and revokes their sessions.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn delete(&self, ctx: &RequestContext, user_id: UserId) -> Result<(), IdentityError>;
}

/// Role input.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RoleInput {
    /// Name, unique in the tenant.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Initial permissions.
    pub permissions: Vec<Permission>,
}

/// Roles, permissions and assignments.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RoleService: Interface {
    /// Creates a role.
    ///
    /// # Errors
    /// [`IdentityError::Validation`], [`IdentityError::Conflict`], [`IdentityError::Backend`].
    async fn create(&self, ctx: &RequestContext, input: RoleInput) -> Result<Role, IdentityError>;

    /// Roles of the caller's tenant.
    ///
    /// # Errors
    /// [`IdentityError::Backend`].
    async fn list(&self, ctx: &RequestContext) -> Result<Vec<Role>, IdentityError>;

    /// One role.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn get(&self, ctx: &RequestContext, id: RoleId) -> Result<Role, IdentityError>;

    /// Renames or re-describes a role (permissions unchanged when `input.permissions` is empty).
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Conflict`], [`IdentityError::Validation`], [`IdentityError::Backend`].
    async fn update(&self, ctx: &RequestContext, id: RoleId, input: RoleInput) -> Result<Role, IdentityError>;

    /// Deletes a role.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn delete(&self, ctx: &RequestContext, id: RoleId) -> Result<(), IdentityError>;

    /// Replaces a role's permissions.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Validation`] (undeclared permission), [`IdentityError::Backend`].
    async fn set_permissions(
        &self,
        ctx: &RequestContext,
        id: RoleId,
        permissions: Vec<Permission>,
    ) -> Result<Role, IdentityError>;

    /// Assigns a role to a user.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn assign(&self, ctx: &RequestContext, user_id: UserId, role_id: RoleId) -> Result<(), IdentityError>;

    /// Revokes a role from a user.
    ///
    /// # Errors
    /// [`IdentityError::NotFound`], [`IdentityError::Backend`].
    async fn revoke(&self, ctx: &RequestContext, user_id: UserId, role_id: RoleId) -> Result<(), IdentityError>;

    /// Every permission declared by the platform and its feature modules.
    fn declared_permissions(&self) -> Vec<Permission>;
}
