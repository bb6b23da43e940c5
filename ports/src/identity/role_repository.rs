use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::authz::Permission;
use crate::identity::Role;
use crate::model::{RoleId, TenantId, UserId};
use crate::persistence::Transaction;

/// Stores roles, their permissions and user assignments (the seed's `RoleRepository`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RoleRepository: Interface {
    /// The role with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn find_by_id(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError>;

    /// The role with this name in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn find_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Role>, StoreError>;

    /// Every role of the tenant, by name.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn list(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError>;

    /// The roles assigned to a user.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn roles_of_user(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Role>, StoreError>;

    /// The users holding a role (to invalidate their cached permissions).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn users_with_role(&self, tenant: TenantId, role_id: RoleId) -> Result<Vec<UserId>, StoreError>;

    /// Inserts a role with its permissions.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken in the tenant,
    /// [`StoreError::Backend`] when the backend fails.
    async fn create(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError>;

    /// Replaces a role's name, description and permissions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Conflict`] (name taken),
    /// [`StoreError::Backend`].
    async fn update(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError>;

    /// Deletes a role and its assignments.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: RoleId) -> Result<(), StoreError>;

    /// Replaces the role's permission set.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn set_permissions(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        role_id: RoleId,
        permissions: &[Permission],
    ) -> Result<(), StoreError>;

    /// Assigns roles to a user (already-held roles are kept once).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user or a role does not exist in the tenant,
    /// [`StoreError::Backend`].
    async fn assign_to_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_ids: &[RoleId],
    ) -> Result<(), StoreError>;

    /// Removes a role from a user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user does not hold it,
    /// [`StoreError::Backend`].
    async fn revoke_from_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_id: RoleId,
    ) -> Result<(), StoreError>;
}
