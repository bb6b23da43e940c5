//! Roles, their permissions (`role_permissions`) and who holds them (`user_roles`).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::Role;
use platform_ports::identity::RoleRepository;
use platform_ports::model::{RoleId, TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::{corrupt, found};
use crate::scope::Scope;
use crate::uow::PgTx;

/// A role with its permissions in the order they were given, in one row.
macro_rules! select_roles {
    ($rest:literal) => {
        concat!(
            "SELECT r.id, r.tenant_id, r.name, r.description, r.created_at, r.updated_at, ",
            "ARRAY(SELECT p.permission FROM role_permissions p ",
            "WHERE p.tenant_id = r.tenant_id AND p.role_id = r.id ORDER BY p.position) AS permissions ",
            "FROM roles r ",
            $rest
        )
    };
}

/// A `roles` row with its permissions.
#[derive(sqlx::FromRow)]
struct RoleRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    permissions: Vec<String>,
}

impl RoleRow {
    fn into_role(self) -> Result<Role, StoreError> {
        let permissions = self
            .permissions
            .iter()
            .map(|p| Permission::parse(p).map_err(|e| corrupt("permission", e)))
            .collect::<Result<_, _>>()?;
        Ok(Role {
            id: RoleId(self.id),
            tenant_id: TenantId(self.tenant_id),
            name: self.name,
            description: self.description,
            permissions,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn into_roles(rows: Vec<RoleRow>) -> Result<Vec<Role>, StoreError> {
    rows.into_iter().map(RoleRow::into_role).collect()
}

/// The permissions without repeats, first occurrence kept: a role grants a set.
fn dedup(permissions: &[Permission]) -> Vec<String> {
    let mut seen = HashSet::new();
    permissions
        .iter()
        .filter(|p| seen.insert(*p))
        .map(|p| p.as_str().to_owned())
        .collect()
}

/// Replaces the permissions of a role the transaction has already locked.
async fn replace_permissions(
    tx: &mut PgTx,
    tenant: TenantId,
    role: RoleId,
    permissions: &[Permission],
) -> Result<(), StoreError> {
    tx.run("roles.permissions.clear", |conn| {
        sqlx::query("DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2")
            .bind(tenant.0)
            .bind(role.0)
            .execute(conn)
    })
    .await?;
    let permissions = dedup(permissions);
    if permissions.is_empty() {
        return Ok(());
    }
    tx.run("roles.permissions.insert", |conn| {
        sqlx::query(
            "INSERT INTO role_permissions (tenant_id, role_id, permission, position) \
             SELECT $1, $2, p.permission, p.position::integer \
             FROM UNNEST($3::text[]) WITH ORDINALITY AS p (permission, position)",
        )
        .bind(tenant.0)
        .bind(role.0)
        .bind(permissions)
        .execute(conn)
    })
    .await?;
    Ok(())
}

/// [`RoleRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgRoleRepository {
    db: PgDatabase,
}

impl PgRoleRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RoleRepository for PgRoleRepository {
    async fn find_by_id(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError> {
        let row: Option<RoleRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.find_by_id", |conn| {
                sqlx::query_as(select_roles!("WHERE r.tenant_id = $1 AND r.id = $2"))
                    .bind(tenant.0)
                    .bind(id.0)
                    .fetch_optional(conn)
            })
            .await?;
        row.map(RoleRow::into_role).transpose()
    }

    async fn find_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Role>, StoreError> {
        let row: Option<RoleRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.find_by_name", |conn| {
                sqlx::query_as(select_roles!("WHERE r.tenant_id = $1 AND r.name = $2"))
                    .bind(tenant.0)
                    .bind(name)
                    .fetch_optional(conn)
            })
            .await?;
        row.map(RoleRow::into_role).transpose()
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError> {
        // `COLLATE "C"` sorts by code point, as Rust strings (and the memory
        // adapter) do, whatever the database's collation.
        let rows = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.list", |conn| {
                sqlx::query_as(select_roles!("WHERE r.tenant_id = $1 ORDER BY r.name COLLATE \"C\""))
                    .bind(tenant.0)
                    .fetch_all(conn)
            })
            .await?;
        into_roles(rows)
    }

    async fn roles_of_user(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        let rows = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.roles_of_user", |conn| {
                sqlx::query_as(select_roles!(
                    "JOIN user_roles ur ON ur.tenant_id = r.tenant_id AND ur.role_id = r.id \
                     WHERE r.tenant_id = $1 AND ur.user_id = $2 ORDER BY r.name COLLATE \"C\""
                ))
                .bind(tenant.0)
                .bind(user_id.0)
                .fetch_all(conn)
            })
            .await?;
        into_roles(rows)
    }

    async fn users_with_role(&self, tenant: TenantId, role_id: RoleId) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<Uuid> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.users_with_role", |conn| {
                sqlx::query_scalar(
                    "SELECT user_id FROM user_roles WHERE tenant_id = $1 AND role_id = $2 \
                     ORDER BY user_id",
                )
                .bind(tenant.0)
                .bind(role_id.0)
                .fetch_all(conn)
            })
            .await?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn create(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(role.tenant_id)).await?;
        let inserted = tx
            .run("roles.create", |conn| {
                sqlx::query(
                    "INSERT INTO roles (id, tenant_id, name, description, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(role.id.0)
                .bind(role.tenant_id.0)
                .bind(role.name.as_str())
                .bind(role.description.as_deref())
                .bind(role.created_at)
                .bind(role.updated_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 0 {
            let id_taken: bool = tx
                .run("roles.create.conflict", |conn| {
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM roles WHERE id = $1)")
                        .bind(role.id.0)
                        .fetch_one(conn)
                })
                .await?;
            return Err(StoreError::Conflict(
                if id_taken { "role_id" } else { "role_name" }.to_owned(),
            ));
        }
        replace_permissions(tx, role.tenant_id, role.id, &role.permissions).await
    }

    async fn update(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(role.tenant_id)).await?;
        // Identity and creation time are not the caller's to change.
        let updated = tx
            .run("roles.update", |conn| {
                sqlx::query(
                    "UPDATE roles SET name = $3, description = $4, updated_at = $5 \
                     WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS (SELECT 1 FROM roles o \
                     WHERE o.tenant_id = $1 AND o.name = $3 AND o.id <> $2)",
                )
                .bind(role.tenant_id.0)
                .bind(role.id.0)
                .bind(role.name.as_str())
                .bind(role.description.as_deref())
                .bind(role.updated_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if updated == 0 {
            let exists: bool = tx
                .run("roles.update.conflict", |conn| {
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM roles WHERE tenant_id = $1 AND id = $2)")
                        .bind(role.tenant_id.0)
                        .bind(role.id.0)
                        .fetch_one(conn)
                })
                .await?;
            return Err(if exists {
                StoreError::Conflict("role_name".to_owned())
            } else {
                StoreError::NotFound
            });
        }
        replace_permissions(tx, role.tenant_id, role.id, &role.permissions).await
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
        // Permissions and assignments go with the role (ON DELETE CASCADE).
        let deleted = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.delete", |conn| {
                sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(deleted)
    }

    async fn set_permissions(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        role_id: RoleId,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(tenant)).await?;
        // Locking the role serialises concurrent replacements of its set.
        let found: Option<Uuid> = tx
            .run("roles.set_permissions.lock", |conn| {
                sqlx::query_scalar("SELECT id FROM roles WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
                    .bind(tenant.0)
                    .bind(role_id.0)
                    .fetch_optional(conn)
            })
            .await?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        replace_permissions(tx, tenant, role_id, permissions).await
    }

    async fn assign_to_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_ids: &[RoleId],
    ) -> Result<(), StoreError> {
        let role_ids: Vec<Uuid> = role_ids.iter().map(|r| r.0).collect();
        // Checks the user and every role, then inserts all or none, in one
        // statement; the foreign keys lock the rows they point at.
        let all_found: bool = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.assign_to_user", |conn| {
                sqlx::query_scalar(
                    "WITH wanted AS (SELECT DISTINCT unnest($3::uuid[]) AS role_id), \
                     found AS (SELECT \
                       EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2) \
                       AND NOT EXISTS (SELECT 1 FROM wanted w WHERE NOT EXISTS \
                         (SELECT 1 FROM roles r WHERE r.tenant_id = $1 AND r.id = w.role_id)) \
                       AS ok), \
                     assigned AS (INSERT INTO user_roles (tenant_id, user_id, role_id) \
                       SELECT $1, $2, w.role_id FROM wanted w, found WHERE found.ok \
                       ON CONFLICT DO NOTHING) \
                     SELECT ok FROM found",
                )
                .bind(tenant.0)
                .bind(user_id.0)
                .bind(role_ids)
                .fetch_one(conn)
            })
            .await?;
        if !all_found {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn revoke_from_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_id: RoleId,
    ) -> Result<(), StoreError> {
        let revoked = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("roles.revoke_from_user", |conn| {
                sqlx::query("DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3")
                    .bind(tenant.0)
                    .bind(user_id.0)
                    .bind(role_id.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(revoked)
    }
}
