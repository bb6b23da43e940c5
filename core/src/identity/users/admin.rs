//! The bootstrap administrator.

use platform_ports::authz::Permission;
use platform_ports::identity::IdentityError;
use platform_ports::identity::{PasswordHash, Role, User};
use platform_ports::model::{Email, RequestContext, RoleId, SecretString, UserId};
use platform_ports::persistence::Transaction;
use serde_json::json;

use super::UserManager;
use crate::identity::failures::{hash_error, invalid, log_invalidation, store_error};
use crate::identity::names::{ADMIN_ROLE, actions, events};
use crate::identity::policy;
use crate::identity::record::{Assignment, Recorder};
use crate::meta;
use crate::unit_of_work::run_in_unit;

/// The administrator's account as found before the unit of work.
enum Account {
    /// It exists: keep it (and its password).
    Existing(User),
    /// It does not: create it with this hash.
    New(PasswordHash),
}

impl UserManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn ensure_admin_user(
        &self,
        ctx: &RequestContext,
        raw_email: &str,
        password: &SecretString,
    ) -> Result<User, IdentityError> {
        let email = Email::parse(raw_email).map_err(invalid)?;
        policy::check_password(&self.settings, "password", password, &email).map_err(invalid)?;
        // Two instances starting together both see "no admin"; the loser's
        // insert conflicts, and a second pass finds what the winner made.
        match self.ensure_admin_once(ctx, &email, password).await {
            Err(IdentityError::Conflict(rule)) => {
                tracing::debug!(rule, "bootstrap administrator raced; trying again");
                self.ensure_admin_once(ctx, &email, password).await
            }
            other => other,
        }
    }

    async fn ensure_admin_once(
        &self,
        ctx: &RequestContext,
        email: &Email,
        password: &SecretString,
    ) -> Result<User, IdentityError> {
        let existing = self
            .users
            .find_by_email(ctx.tenant_id, email)
            .await
            .map_err(store_error)?;
        // Hashed only for a new account (an existing one keeps its password),
        // and before the unit of work so no connection waits on argon2.
        let account = match existing {
            Some(user) => Account::Existing(user),
            None => Account::New(self.hasher.hash(password).await.map_err(hash_error)?),
        };

        let user = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let role = self.ensure_admin_role(ctx, tx).await?;
            let user = match account {
                Account::Existing(user) => self.ensure_verified(ctx, tx, user).await?,
                Account::New(hash) => self.create_admin(ctx, tx, email, hash).await?,
            };
            let held = self
                .roles
                .roles_of_user(ctx.tenant_id, user.id)
                .await
                .map_err(store_error)?;
            if !held.iter().any(|r| r.id == role.id) {
                self.roles
                    .assign_to_user(tx, ctx.tenant_id, user.id, &[role.id])
                    .await
                    .map_err(store_error)?;
                self.record_assignment(ctx, tx, None, Assignment::Assigned, user.id, &role)
                    .await?;
            }
            Ok(user)
        })
        .await?;
        log_invalidation(user.id, self.permissions.invalidate(user.id).await);
        tracing::info!(user_id = %user.id, "bootstrap administrator ensured");
        Ok(user)
    }

    /// The tenant's `admin` role, created or completed to hold the whole catalog.
    async fn ensure_admin_role(&self, ctx: &RequestContext, tx: &mut Transaction) -> Result<Role, IdentityError> {
        let catalog = self.catalog.all().to_vec();
        let existing = self
            .roles
            .find_by_name(ctx.tenant_id, ADMIN_ROLE)
            .await
            .map_err(store_error)?;
        let now = self.clock.now();
        let (role, added, removed) = match existing {
            None => {
                let role = Role {
                    id: RoleId(self.ids.new_id()),
                    tenant_id: ctx.tenant_id,
                    name: ADMIN_ROLE.to_owned(),
                    description: Some("Every declared permission".to_owned()),
                    permissions: catalog.clone(),
                    created_at: now,
                    updated_at: now,
                };
                self.roles.create(tx, &role).await.map_err(store_error)?;
                let entry = self.entry_as(
                    ctx,
                    None,
                    actions::ROLE_CREATED,
                    role.id,
                    meta! { "name" => ADMIN_ROLE },
                );
                self.record(tx, &entry, None).await?;
                (role, catalog, Vec::new())
            }
            Some(role) => {
                let added: Vec<Permission> = catalog
                    .iter()
                    .filter(|p| !role.permissions.contains(p))
                    .cloned()
                    .collect();
                let removed: Vec<Permission> = role
                    .permissions
                    .iter()
                    .filter(|p| !self.catalog.contains(p))
                    .cloned()
                    .collect();
                if !added.is_empty() || !removed.is_empty() {
                    self.roles
                        .set_permissions(tx, ctx.tenant_id, role.id, &catalog)
                        .await
                        .map_err(store_error)?;
                }
                (
                    Role {
                        permissions: catalog,
                        ..role
                    },
                    added,
                    removed,
                )
            }
        };
        self.record_permission_changes(ctx, tx, None, &role, &added, &removed)
            .await?;
        Ok(role)
    }

    async fn create_admin(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        email: &Email,
        password_hash: PasswordHash,
    ) -> Result<User, IdentityError> {
        let now = self.clock.now();
        let user = User {
            id: UserId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            email: email.clone(),
            display_name: None,
            password_hash,
            email_verified: true,
            digest: false,
            created_at: now,
            updated_at: now,
        };
        self.users.create(tx, &user).await.map_err(store_error)?;
        let entry = self.entry_as(
            ctx,
            None,
            actions::USER_CREATED,
            user.id,
            meta! { "email" => email.as_str() },
        );
        let event = self.event(
            ctx,
            events::USER_CREATED,
            user.id,
            json!({ "id": user.id, "email": email.as_str() }),
        );
        self.record(tx, &entry, Some(&event)).await?;
        Ok(user)
    }

    /// An existing account is kept (and its password); it is only marked verified.
    async fn ensure_verified(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        user: User,
    ) -> Result<User, IdentityError> {
        if user.email_verified {
            return Ok(user);
        }
        self.mark_verified(ctx, tx, None, user, self.clock.now()).await
    }
}
