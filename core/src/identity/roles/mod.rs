//! [`RoleManager`]: roles, the permissions they grant, and who holds them.

mod assignments;
mod crud;

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::audit::AuditStore;
use platform_ports::authz::Permission;
use platform_ports::authz::PermissionResolver;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Outbox;
use platform_ports::identity::Role;
use platform_ports::identity::RoleRepository;
use platform_ports::identity::{IdentityError, RoleInput, RoleService};
use platform_ports::model::{RequestContext, RoleId, UserId};
use platform_ports::persistence::{Transaction, UnitOfWork};

use super::failures::{log_invalidation, store_error};
use super::record::Recorder;
use super::settings::PermissionCatalog;

/// Implements [`RoleService`].
///
/// Built by shaku; the fields are open to `identity` so its tests can
/// build it from mocks.
#[derive(shaku::Component)]
#[shaku(interface = RoleService)]
pub struct RoleManager {
    #[shaku(inject)]
    pub(super) uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    pub(super) roles: Arc<dyn RoleRepository>,
    #[shaku(inject)]
    pub(super) audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    pub(super) outbox: Arc<dyn Outbox>,
    #[shaku(inject)]
    pub(super) permissions: Arc<dyn PermissionResolver>,
    #[shaku(inject)]
    pub(super) clock: Arc<dyn Clock>,
    #[shaku(inject)]
    pub(super) ids: Arc<dyn IdGenerator>,
    /// Every declared permission: roles grant nothing else.
    pub(super) catalog: PermissionCatalog,
}

impl RoleManager {
    /// Records what changed between a role's old and new permission sets:
    /// `permission.granted` (with an event) for additions,
    /// `permission.revoked` for removals. Returns whether anything changed.
    async fn record_permission_diff(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        role: &Role,
        old: &[Permission],
    ) -> Result<bool, IdentityError> {
        let added: Vec<Permission> = role.permissions.iter().filter(|p| !old.contains(p)).cloned().collect();
        let removed: Vec<Permission> = old.iter().filter(|p| !role.permissions.contains(p)).cloned().collect();
        self.record_permission_changes(ctx, tx, ctx.user_id(), role, &added, &removed)
            .await?;
        Ok(!added.is_empty() || !removed.is_empty())
    }

    /// The role in the caller's tenant.
    async fn find(&self, ctx: &RequestContext, id: RoleId) -> Result<Role, IdentityError> {
        self.roles
            .find_by_id(ctx.tenant_id, id)
            .await
            .map_err(store_error)?
            .ok_or(IdentityError::NotFound)
    }

    /// Who holds the role, whose cached permissions a change makes stale.
    async fn holders(&self, ctx: &RequestContext, id: RoleId) -> Result<Vec<UserId>, IdentityError> {
        self.roles.users_with_role(ctx.tenant_id, id).await.map_err(store_error)
    }

    /// Forgets the cached permissions of `users` (after commit).
    async fn invalidate_all(&self, users: &[UserId]) {
        for user in users {
            log_invalidation(*user, self.permissions.invalidate(*user).await);
        }
    }
}

impl Recorder for RoleManager {
    fn stamps(&self) -> (&dyn Clock, &dyn IdGenerator) {
        (self.clock.as_ref(), self.ids.as_ref())
    }

    fn stores(&self) -> (&dyn AuditStore, &dyn Outbox) {
        (self.audit.as_ref(), self.outbox.as_ref())
    }
}

#[async_trait]
impl RoleService for RoleManager {
    async fn create(&self, ctx: &RequestContext, input: RoleInput) -> Result<Role, IdentityError> {
        self.create_role(ctx, input).await
    }

    async fn list(&self, ctx: &RequestContext) -> Result<Vec<Role>, IdentityError> {
        self.list_roles(ctx).await
    }

    async fn get(&self, ctx: &RequestContext, id: RoleId) -> Result<Role, IdentityError> {
        self.get_role(ctx, id).await
    }

    async fn update(&self, ctx: &RequestContext, id: RoleId, input: RoleInput) -> Result<Role, IdentityError> {
        self.update_role(ctx, id, input).await
    }

    async fn delete(&self, ctx: &RequestContext, id: RoleId) -> Result<(), IdentityError> {
        self.delete_role(ctx, id).await
    }

    async fn set_permissions(
        &self,
        ctx: &RequestContext,
        id: RoleId,
        permissions: Vec<Permission>,
    ) -> Result<Role, IdentityError> {
        self.set_role_permissions(ctx, id, permissions).await
    }

    async fn assign(&self, ctx: &RequestContext, user_id: UserId, role_id: RoleId) -> Result<(), IdentityError> {
        self.assign_role(ctx, user_id, role_id).await
    }

    async fn revoke(&self, ctx: &RequestContext, user_id: UserId, role_id: RoleId) -> Result<(), IdentityError> {
        self.revoke_role(ctx, user_id, role_id).await
    }

    fn declared_permissions(&self) -> Vec<Permission> {
        self.catalog.all().to_vec()
    }
}
