//! Users, indexed per tenant by id (for keyset paging) and by email.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::{HashMap, OrdMap, OrdSet};
use platform_ports::StoreError;
use platform_ports::identity::UserRepository;
use platform_ports::identity::{DigestRecipient, User, UserFilter};
use platform_ports::model::{Email, Page, PageRequest, TenantId, UserId};
use platform_ports::persistence::Transaction;
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx, Tables, decode_id, encode_id, paginate};

/// Names user-list cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "user";

/// The users table and its indexes.
#[derive(Clone, Default)]
pub(crate) struct UserTable {
    rows: OrdMap<UserId, User>,
    by_tenant: OrdSet<(TenantId, UserId)>,
    by_email: HashMap<(TenantId, Email), UserId>,
    /// The end of the last period whose digest was queued, per user (kept
    /// apart from the profile, as the PostgreSQL column is).
    digest_periods: HashMap<UserId, DateTime<Utc>>,
}

impl UserTable {
    /// How many users all tenants hold.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The user with this id, if it belongs to `tenant`.
    pub(crate) fn get(&self, tenant: TenantId, id: UserId) -> Option<&User> {
        self.rows.get(&id).filter(|user| user.tenant_id == tenant)
    }

    fn get_by_email(&self, tenant: TenantId, email: &Email) -> Option<&User> {
        let id = self.by_email.get(&(tenant, email.clone()))?;
        self.get(tenant, *id)
    }

    /// The tenant's users after `after` (exclusive), oldest first: ids are
    /// v7 UUIDs, so id order is creation order.
    fn after(&self, tenant: TenantId, after: Option<UserId>) -> impl Iterator<Item = &User> {
        let lower = match after {
            Some(id) => Bound::Excluded((tenant, id)),
            None => Bound::Included((tenant, UserId(Uuid::nil()))),
        };
        let upper = Bound::Included((tenant, UserId(Uuid::max())));
        self.by_tenant
            .range((lower, upper))
            .filter_map(|(_, id)| self.rows.get(id))
    }

    fn insert(&mut self, user: &User) -> Result<(), StoreError> {
        if self.rows.contains_key(&user.id) {
            return Err(StoreError::Conflict("user_id".to_owned()));
        }
        if self.by_email.contains_key(&(user.tenant_id, user.email.clone())) {
            return Err(StoreError::Conflict("email".to_owned()));
        }
        self.by_email.insert((user.tenant_id, user.email.clone()), user.id);
        self.by_tenant.insert((user.tenant_id, user.id));
        self.rows.insert(user.id, user.clone());
        Ok(())
    }

    fn replace(&mut self, user: &User) -> Result<(), StoreError> {
        let old_email = self
            .get(user.tenant_id, user.id)
            .ok_or(StoreError::NotFound)?
            .email
            .clone();
        if old_email != user.email {
            if self.by_email.contains_key(&(user.tenant_id, user.email.clone())) {
                return Err(StoreError::Conflict("email".to_owned()));
            }
            self.by_email.remove(&(user.tenant_id, old_email));
            self.by_email.insert((user.tenant_id, user.email.clone()), user.id);
        }
        self.rows.insert(user.id, user.clone());
        Ok(())
    }

    fn remove(&mut self, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
        let email = self.get(tenant, id).ok_or(StoreError::NotFound)?.email.clone();
        self.by_email.remove(&(tenant, email));
        self.by_tenant.remove(&(tenant, id));
        self.rows.remove(&id);
        self.digest_periods.remove(&id);
        Ok(())
    }

    fn record_digest(&mut self, tenant: TenantId, id: UserId, period_end: DateTime<Utc>) -> Result<(), StoreError> {
        self.get(tenant, id).ok_or(StoreError::NotFound)?;
        let latest = self
            .digest_periods
            .get(&id)
            .map_or(period_end, |recorded| period_end.max(*recorded));
        self.digest_periods.insert(id, latest);
        Ok(())
    }
}

/// Whether `user` passes every condition of `filter`.
fn matches(tables: &Tables, user: &User, filter: &UserFilter, needle: Option<&str>) -> bool {
    needle.is_none_or(|needle| user.email.as_str().contains(needle))
        && filter
            .email_verified
            .is_none_or(|verified| user.email_verified == verified)
        && filter.role_id.is_none_or(|role| tables.roles.holds(user.id, role))
}

/// [`UserRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = UserRepository)]
pub struct MemoryUserRepository {
    store: Arc<MemoryStore>,
}

impl MemoryUserRepository {
    /// A repository over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryUserRepository>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryUserRepositoryParameters {
        MemoryUserRepositoryParameters { store }
    }
}

impl fmt::Debug for MemoryUserRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryUserRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl UserRepository for MemoryUserRepository {
    async fn find_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.store.snapshot().tables.users.get(tenant, id).cloned())
    }

    async fn find_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self.store.snapshot().tables.users.get_by_email(tenant, email).cloned())
    }

    async fn list(&self, tenant: TenantId, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        let after = page
            .cursor
            .as_deref()
            .map(|c| decode_id(CURSOR_KIND, c))
            .transpose()?
            .map(UserId);
        // Emails are stored lower-cased, so lower-casing the needle makes the
        // match case-insensitive.
        let needle = filter.email_contains.as_deref().map(str::to_lowercase);
        let state = self.store.snapshot();
        let tables = &state.tables;
        let users = tables
            .users
            .after(tenant, after)
            .filter(|user| matches(tables, user, filter, needle.as_deref()))
            .cloned();
        Ok(paginate(users, page.limit, |user| encode_id(CURSOR_KIND, user.id.0)))
    }

    async fn create(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.users.insert(user))
    }

    async fn update(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.users.replace(user))
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            tables.users.remove(tenant, id)?;
            tables.roles.unassign_user(id);
            Ok(())
        })
    }

    async fn digest_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let state = self.store.snapshot();
        let mut tenants: Vec<TenantId> = state
            .tables
            .users
            .rows
            .values()
            .filter(|user| user.digest)
            .map(|user| user.tenant_id)
            .collect();
        tenants.sort_unstable();
        tenants.dedup();
        Ok(tenants)
    }

    async fn digest_recipients(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<DigestRecipient>, StoreError> {
        let state = self.store.snapshot();
        let users = &state.tables.users;
        Ok(users
            .after(tenant, after)
            .filter(|user| user.digest)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|user| DigestRecipient {
                user: user.clone(),
                last_period_end: users.digest_periods.get(&user.id).copied(),
            })
            .collect())
    }

    async fn record_digest(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: UserId,
        period_end: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.users.record_digest(tenant, id, period_end))
    }
}
