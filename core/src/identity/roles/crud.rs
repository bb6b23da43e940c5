//! Creating, reading, renaming and deleting roles.

use platform_ports::identity::Role;
use platform_ports::identity::{IdentityError, RoleInput};
use platform_ports::model::{FieldError, RequestContext, RoleId, ValidationErrors};

use super::RoleManager;
use crate::identity::failures::{all_valid, invalid, store_error};
use crate::identity::lockout::{Change, refuse_lockout};
use crate::identity::names::actions;
use crate::identity::policy;
use crate::identity::record::Recorder;
use crate::meta;
use crate::unit_of_work::run_in_unit;

impl RoleManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn create_role(&self, ctx: &RequestContext, input: RoleInput) -> Result<Role, IdentityError> {
        let name = policy::role_name(&input.name);
        let description = policy::description(input.description.as_deref());
        let permissions = policy::declared(&self.catalog, input.permissions);
        let (name, description, permissions) = all_fields(name, description, permissions)?;

        let now = self.clock.now();
        let role = Role {
            id: RoleId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            name,
            description,
            permissions,
            created_at: now,
            updated_at: now,
        };
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            self.roles.create(tx, &role).await.map_err(store_error)?;
            let entry = self.entry(ctx, actions::ROLE_CREATED, role.id, meta! { "name" => role.name });
            self.record(tx, &entry, None).await?;
            self.record_permission_diff(ctx, tx, &role, &[]).await?;
            Ok(())
        })
        .await?;
        tracing::info!(role_id = %role.id, "role created");
        Ok(role)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn list_roles(&self, ctx: &RequestContext) -> Result<Vec<Role>, IdentityError> {
        self.roles.list(ctx.tenant_id).await.map_err(store_error)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, role_id = %id))]
    pub(super) async fn get_role(&self, ctx: &RequestContext, id: RoleId) -> Result<Role, IdentityError> {
        self.find(ctx, id).await
    }

    /// A blank name and a `None` description keep the current values (a
    /// blank description clears it); empty permissions leave them untouched.
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, role_id = %id))]
    pub(super) async fn update_role(
        &self,
        ctx: &RequestContext,
        id: RoleId,
        input: RoleInput,
    ) -> Result<Role, IdentityError> {
        let name = Some(input.name.as_str())
            .filter(|n| !n.trim().is_empty())
            .map(policy::role_name)
            .transpose();
        let description = input
            .description
            .as_deref()
            .map(|text| policy::description(Some(text)))
            .transpose();
        let permissions = Some(input.permissions)
            .filter(|p| !p.is_empty())
            .map(|p| policy::declared(&self.catalog, p))
            .transpose();
        let (name, description, permissions) = all_fields(name, description, permissions)?;

        let (role, holders) = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let current = self.find(ctx, id).await?;
            let mut role = current.clone();
            let mut fields: Vec<&str> = Vec::new();
            if let Some(name) = name.filter(|n| *n != current.name) {
                role.name = name;
                fields.push("name");
            }
            if let Some(description) = description.filter(|d| *d != current.description) {
                role.description = description;
                fields.push("description");
            }
            let mut permissions_changed = false;
            if let Some(permissions) = permissions {
                permissions_changed = permissions != current.permissions;
                role.permissions = permissions;
            }
            if fields.is_empty() && !permissions_changed {
                return Ok((current, Vec::new()));
            }
            if permissions_changed {
                let change = Change::SetPermissions {
                    role: &current,
                    to: &role.permissions,
                };
                refuse_lockout(self.roles.as_ref(), ctx.tenant_id, change).await?;
            }
            role.updated_at = self.clock.now();
            self.roles.update(tx, &role).await.map_err(store_error)?;
            if !fields.is_empty() {
                let entry = self.entry(
                    ctx,
                    actions::ROLE_UPDATED,
                    role.id,
                    meta! { "name" => role.name, "fields" => fields },
                );
                self.record(tx, &entry, None).await?;
            }
            let holders = if permissions_changed {
                self.record_permission_diff(ctx, tx, &role, &current.permissions)
                    .await?;
                self.holders(ctx, id).await?
            } else {
                Vec::new()
            };
            Ok((role, holders))
        })
        .await?;
        self.invalidate_all(&holders).await;
        Ok(role)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, role_id = %id))]
    pub(super) async fn delete_role(&self, ctx: &RequestContext, id: RoleId) -> Result<(), IdentityError> {
        let holders = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let role = self.find(ctx, id).await?;
            refuse_lockout(self.roles.as_ref(), ctx.tenant_id, Change::DeleteRole(&role)).await?;
            // Asked before the delete takes the assignments with it.
            let holders = self.holders(ctx, id).await?;
            self.roles.delete(tx, ctx.tenant_id, id).await.map_err(store_error)?;
            let entry = self.entry(
                ctx,
                actions::ROLE_DELETED,
                id,
                meta! { "name" => role.name, "holders" => holders.len() },
            );
            self.record(tx, &entry, None).await?;
            Ok(holders)
        })
        .await?;
        self.invalidate_all(&holders).await;
        tracing::info!("role deleted");
        Ok(())
    }
}

/// The checked fields of a role input, or all their errors at once.
fn all_fields<N, D, P>(
    name: Result<N, FieldError>,
    description: Result<D, FieldError>,
    permissions: Result<P, ValidationErrors>,
) -> Result<(N, D, P), IdentityError> {
    let permission_errors = permissions
        .as_ref()
        .err()
        .into_iter()
        .flat_map(|e| e.0.iter().map(Some));
    all_valid(
        [name.as_ref().err(), description.as_ref().err()]
            .into_iter()
            .chain(permission_errors),
    )?;
    Ok((
        name.map_err(invalid)?,
        description.map_err(invalid)?,
        permissions.map_err(IdentityError::Validation)?,
    ))
}
