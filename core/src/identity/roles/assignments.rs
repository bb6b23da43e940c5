//! A role's permissions, and which users hold it.

use platform_ports::authz::Permission;
use platform_ports::identity::IdentityError;
use platform_ports::identity::Role;
use platform_ports::model::{RequestContext, RoleId, UserId};

use super::RoleManager;
use crate::identity::failures::{log_invalidation, store_error};
use crate::identity::lockout::{Change, refuse_lockout};
use crate::identity::policy;
use crate::identity::record::{Assignment, Recorder};
use crate::unit_of_work::run_in_unit;

impl RoleManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, role_id = %id))]
    pub(super) async fn set_role_permissions(
        &self,
        ctx: &RequestContext,
        id: RoleId,
        permissions: Vec<Permission>,
    ) -> Result<Role, IdentityError> {
        let permissions = policy::declared(&self.catalog, permissions).map_err(IdentityError::Validation)?;
        let (role, holders) = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let current = self.find(ctx, id).await?;
            let role = Role {
                permissions,
                ..current.clone()
            };
            let change = Change::SetPermissions {
                role: &current,
                to: &role.permissions,
            };
            refuse_lockout(self.roles.as_ref(), ctx.tenant_id, change).await?;
            let changed = self
                .record_permission_diff(ctx, tx, &role, &current.permissions)
                .await?;
            if !changed {
                return Ok((current, Vec::new()));
            }
            self.roles
                .set_permissions(tx, ctx.tenant_id, id, &role.permissions)
                .await
                .map_err(store_error)?;
            let holders = self.holders(ctx, id).await?;
            Ok((role, holders))
        })
        .await?;
        self.invalidate_all(&holders).await;
        Ok(role)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id, role_id = %role_id))]
    pub(super) async fn assign_role(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        role_id: RoleId,
    ) -> Result<(), IdentityError> {
        let changed = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let role = self.find(ctx, role_id).await?;
            let held = self
                .roles
                .roles_of_user(ctx.tenant_id, user_id)
                .await
                .map_err(store_error)?;
            // Assigning a held role changes nothing, so it records nothing.
            if held.iter().any(|r| r.id == role_id) {
                return Ok(false);
            }
            // The repository answers NotFound for a user outside the tenant.
            self.roles
                .assign_to_user(tx, ctx.tenant_id, user_id, &[role_id])
                .await
                .map_err(store_error)?;
            self.record_assignment(ctx, tx, ctx.user_id(), Assignment::Assigned, user_id, &role)
                .await?;
            Ok(true)
        })
        .await?;
        if changed {
            log_invalidation(user_id, self.permissions.invalidate(user_id).await);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id, role_id = %role_id))]
    pub(super) async fn revoke_role(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        role_id: RoleId,
    ) -> Result<(), IdentityError> {
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let role = self.find(ctx, role_id).await?;
            let change = Change::Revoke {
                user: user_id,
                role: &role,
            };
            refuse_lockout(self.roles.as_ref(), ctx.tenant_id, change).await?;
            // NotFound when the user does not hold it.
            self.roles
                .revoke_from_user(tx, ctx.tenant_id, user_id, role_id)
                .await
                .map_err(store_error)?;
            self.record_assignment(ctx, tx, ctx.user_id(), Assignment::Revoked, user_id, &role)
                .await
        })
        .await?;
        log_invalidation(user_id, self.permissions.invalidate(user_id).await);
        Ok(())
    }
}
