//! [`RoleManager`]: roles, the permissions they grant, and who holds them.

mod assignments;
mod crud;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::audit::AuditEntry;
use platform_ports::audit::AuditStore;
use platform_ports::authz::Permission;
use platform_ports::authz::PermissionResolver;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Event;
use platform_ports::events::Outbox;
use platform_ports::identity::Role;
use platform_ports::identity::RoleRepository;
use platform_ports::identity::{IdentityError, RoleInput, RoleService};
use platform_ports::model::{RequestContext, RoleId, UserId};
use platform_ports::persistence::{Transaction, UnitOfWork};
use serde_json::json;

use super::names::{EVENT_SOURCE, actions, events};
use super::settings::PermissionCatalog;
use super::unit::{log_invalidation, store_error};
use crate::meta;
use crate::support::{IDENTITY_TOPIC, audit_entry, event};

/// Implements [`RoleService`].
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
    /// An audit entry attributed from the context.
    fn entry(
        &self,
        ctx: &RequestContext,
        action: &str,
        target: impl ToString,
        metadata: BTreeMap<String, serde_json::Value>,
    ) -> AuditEntry {
        audit_entry(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            action,
            Some(target.to_string()),
            metadata,
        )
    }

    /// An identity event about `aggregate`.
    fn event(
        &self,
        ctx: &RequestContext,
        event_type: &str,
        aggregate: impl ToString,
        data: serde_json::Value,
    ) -> Event {
        event(
            self.clock.as_ref(),
            self.ids.as_ref(),
            event_type,
            EVENT_SOURCE,
            ctx.tenant_id,
            aggregate.to_string(),
            data,
        )
    }

    /// Writes the audit entry and, when given, the event into the unit of work.
    async fn record(
        &self,
        tx: &mut Transaction,
        entry: &AuditEntry,
        event: Option<&Event>,
    ) -> Result<(), IdentityError> {
        self.audit.append(tx, entry).await.map_err(store_error)?;
        if let Some(event) = event {
            self.outbox
                .enqueue(tx, IDENTITY_TOPIC, event)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

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
        let added: Vec<&Permission> = role.permissions.iter().filter(|p| !old.contains(p)).collect();
        let removed: Vec<&Permission> = old.iter().filter(|p| !role.permissions.contains(p)).collect();
        if !added.is_empty() {
            let entry = self.entry(
                ctx,
                actions::PERMISSION_GRANTED,
                role.id,
                meta! { "role" => role.name, "permissions" => added },
            );
            let event = self.event(
                ctx,
                events::PERMISSION_GRANTED,
                role.id,
                json!({ "role_id": role.id, "role": role.name, "permissions": added }),
            );
            self.record(tx, &entry, Some(&event)).await?;
        }
        if !removed.is_empty() {
            let entry = self.entry(
                ctx,
                actions::PERMISSION_REVOKED,
                role.id,
                meta! { "role" => role.name, "permissions" => removed },
            );
            self.record(tx, &entry, None).await?;
        }
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
