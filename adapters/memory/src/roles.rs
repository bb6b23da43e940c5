//! Roles, their permissions and who holds them.

use std::collections::HashSet;
use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use im::{OrdMap, OrdSet};
use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::Role;
use platform_ports::identity::RoleRepository;
use platform_ports::model::{RoleId, TenantId, UserId};
use platform_ports::persistence::Transaction;
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx, Tables};

/// The roles table, its per-tenant name index and the assignments in both
/// directions (a user's roles, a role's users).
#[derive(Clone, Default)]
pub(crate) struct RoleTable {
    rows: OrdMap<RoleId, Role>,
    by_name: OrdMap<(TenantId, String), RoleId>,
    by_user: OrdSet<(UserId, RoleId)>,
    by_role: OrdSet<(RoleId, UserId)>,
}

fn name_taken() -> StoreError {
    StoreError::Conflict("role_name".to_owned())
}

/// The permissions without repeats, first occurrence kept: a role grants a set.
fn dedup(permissions: &[Permission]) -> Vec<Permission> {
    let mut seen = HashSet::new();
    permissions.iter().filter(|p| seen.insert(*p)).cloned().collect()
}

impl RoleTable {
    /// The role with this id, if it belongs to `tenant`.
    pub(crate) fn get(&self, tenant: TenantId, id: RoleId) -> Option<&Role> {
        self.rows.get(&id).filter(|role| role.tenant_id == tenant)
    }

    /// Whether the user holds the role.
    pub(crate) fn holds(&self, user: UserId, role: RoleId) -> bool {
        self.by_user.contains(&(user, role))
    }

    /// Drops every assignment of a deleted user.
    pub(crate) fn unassign_user(&mut self, user: UserId) {
        let held: Vec<RoleId> = self.role_ids_of(user).collect();
        for role in held {
            self.by_user.remove(&(user, role));
            self.by_role.remove(&(role, user));
        }
    }

    fn role_ids_of(&self, user: UserId) -> impl Iterator<Item = RoleId> + '_ {
        self.by_user
            .range((user, RoleId(Uuid::nil()))..=(user, RoleId(Uuid::max())))
            .map(|(_, role)| *role)
    }

    fn user_ids_with(&self, role: RoleId) -> impl Iterator<Item = UserId> + '_ {
        self.by_role
            .range((role, UserId(Uuid::nil()))..=(role, UserId(Uuid::max())))
            .map(|(_, user)| *user)
    }

    /// The tenant's roles ordered by name.
    fn of_tenant(&self, tenant: TenantId) -> impl Iterator<Item = &Role> {
        self.by_name
            .range((Bound::Included((tenant, String::new())), Bound::Unbounded))
            .take_while(move |((t, _), _)| *t == tenant)
            .filter_map(|(_, id)| self.rows.get(id))
    }

    fn find_by_name(&self, tenant: TenantId, name: &str) -> Option<&Role> {
        let id = self.by_name.get(&(tenant, name.to_owned()))?;
        self.get(tenant, *id)
    }

    fn insert(&mut self, role: &Role) -> Result<(), StoreError> {
        if self.rows.contains_key(&role.id) {
            return Err(StoreError::Conflict("role_id".to_owned()));
        }
        let name_key = (role.tenant_id, role.name.clone());
        if self.by_name.contains_key(&name_key) {
            return Err(name_taken());
        }
        self.by_name.insert(name_key, role.id);
        self.rows.insert(
            role.id,
            Role {
                permissions: dedup(&role.permissions),
                ..role.clone()
            },
        );
        Ok(())
    }

    fn replace(&mut self, role: &Role) -> Result<(), StoreError> {
        let stored = self.get(role.tenant_id, role.id).ok_or(StoreError::NotFound)?.clone();
        if stored.name != role.name {
            let name_key = (role.tenant_id, role.name.clone());
            if self.by_name.contains_key(&name_key) {
                return Err(name_taken());
            }
            self.by_name.remove(&(role.tenant_id, stored.name.clone()));
            self.by_name.insert(name_key, role.id);
        }
        // Identity and creation time are not the caller's to change.
        let updated = Role {
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: dedup(&role.permissions),
            updated_at: role.updated_at,
            ..stored
        };
        self.rows.insert(role.id, updated);
        Ok(())
    }

    fn remove(&mut self, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
        let name = self.get(tenant, id).ok_or(StoreError::NotFound)?.name.clone();
        let holders: Vec<UserId> = self.user_ids_with(id).collect();
        for user in holders {
            self.by_user.remove(&(user, id));
            self.by_role.remove(&(id, user));
        }
        self.by_name.remove(&(tenant, name));
        self.rows.remove(&id);
        Ok(())
    }

    fn set_permissions(&mut self, tenant: TenantId, id: RoleId, permissions: &[Permission]) -> Result<(), StoreError> {
        let mut role = self.get(tenant, id).ok_or(StoreError::NotFound)?.clone();
        role.permissions = dedup(permissions);
        self.rows.insert(id, role);
        Ok(())
    }

    fn unassign(&mut self, tenant: TenantId, user: UserId, role: RoleId) -> Result<(), StoreError> {
        if self.get(tenant, role).is_none() || self.by_user.remove(&(user, role)).is_none() {
            return Err(StoreError::NotFound);
        }
        self.by_role.remove(&(role, user));
        Ok(())
    }
}

/// Checks the user and every role exist in the tenant, then records the
/// assignments (all or none).
fn assign(tables: &mut Tables, tenant: TenantId, user: UserId, roles: &[RoleId]) -> Result<(), StoreError> {
    if tables.users.get(tenant, user).is_none() || roles.iter().any(|role| tables.roles.get(tenant, *role).is_none()) {
        return Err(StoreError::NotFound);
    }
    for role in roles {
        tables.roles.by_user.insert((user, *role));
        tables.roles.by_role.insert((*role, user));
    }
    Ok(())
}

/// [`RoleRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = RoleRepository)]
pub struct MemoryRoleRepository {
    store: Arc<MemoryStore>,
}

impl MemoryRoleRepository {
    /// A repository over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryRoleRepository>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryRoleRepositoryParameters {
        MemoryRoleRepositoryParameters { store }
    }
}

impl fmt::Debug for MemoryRoleRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRoleRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl RoleRepository for MemoryRoleRepository {
    async fn find_by_id(&self, tenant: TenantId, id: RoleId) -> Result<Option<Role>, StoreError> {
        Ok(self.store.snapshot().tables.roles.get(tenant, id).cloned())
    }

    async fn find_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Role>, StoreError> {
        Ok(self.store.snapshot().tables.roles.find_by_name(tenant, name).cloned())
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<Role>, StoreError> {
        Ok(self.store.snapshot().tables.roles.of_tenant(tenant).cloned().collect())
    }

    async fn roles_of_user(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        let state = self.store.snapshot();
        let roles = &state.tables.roles;
        let mut held: Vec<Role> = roles
            .role_ids_of(user_id)
            .filter_map(|id| roles.get(tenant, id))
            .cloned()
            .collect();
        held.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(held)
    }

    async fn users_with_role(&self, tenant: TenantId, role_id: RoleId) -> Result<Vec<UserId>, StoreError> {
        let state = self.store.snapshot();
        let tables = &state.tables;
        Ok(tables
            .roles
            .user_ids_with(role_id)
            .filter(|user| tables.users.get(tenant, *user).is_some())
            .collect())
    }

    async fn create(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.roles.insert(role))
    }

    async fn update(&self, tx: &mut Transaction, role: &Role) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.roles.replace(role))
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.roles.remove(tenant, id))
    }

    async fn set_permissions(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        role_id: RoleId,
        permissions: &[Permission],
    ) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.roles.set_permissions(tenant, role_id, permissions))
    }

    async fn assign_to_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_ids: &[RoleId],
    ) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| assign(tables, tenant, user_id, role_ids))
    }

    async fn revoke_from_user(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        user_id: UserId,
        role_id: RoleId,
    ) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.roles.unassign(tenant, user_id, role_id))
    }
}
