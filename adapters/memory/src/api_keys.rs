//! API keys: looked up by hash across tenants, by id within one.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::{HashMap, OrdMap};
use platform_ports::StoreError;
use platform_ports::auth::TokenHash;
use platform_ports::identity::{ApiKey, ApiKeyRepository};
use platform_ports::model::{ApiKeyId, TenantId};
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// The `api_keys` table with its hash index.
#[derive(Clone, Default)]
pub(crate) struct ApiKeyTable {
    rows: OrdMap<ApiKeyId, ApiKey>,
    by_hash: HashMap<TokenHash, ApiKeyId>,
}

impl ApiKeyTable {
    fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        if self.by_hash.contains_key(&key.key_hash) {
            return Err(StoreError::Conflict("key_hash".to_owned()));
        }
        if self.rows.contains_key(&key.id) {
            return Err(StoreError::Conflict("api_key_id".to_owned()));
        }
        self.by_hash.insert(key.key_hash.clone(), key.id);
        self.rows.insert(key.id, key.clone());
        Ok(())
    }

    fn in_tenant(&self, tenant: TenantId, id: ApiKeyId) -> Option<&ApiKey> {
        self.rows.get(&id).filter(|key| key.tenant_id == tenant)
    }

    fn modify(&mut self, tenant: TenantId, id: ApiKeyId, f: impl FnOnce(&mut ApiKey)) -> Result<ApiKey, StoreError> {
        let key = self
            .rows
            .get_mut(&id)
            .filter(|key| key.tenant_id == tenant)
            .ok_or(StoreError::NotFound)?;
        f(key);
        Ok(key.clone())
    }
}

/// [`ApiKeyRepository`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = ApiKeyRepository)]
pub struct MemoryApiKeyRepository {
    store: Arc<MemoryStore>,
}

impl MemoryApiKeyRepository {
    /// A key repository over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }
}

impl fmt::Debug for MemoryApiKeyRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryApiKeyRepository").finish_non_exhaustive()
    }
}

#[async_trait]
impl ApiKeyRepository for MemoryApiKeyRepository {
    async fn insert(&self, tx: &mut Transaction, key: &ApiKey) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.api_keys.insert(key))
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let state = self.store.snapshot();
        let keys = &state.tables.api_keys;
        Ok(keys.by_hash.get(hash).and_then(|id| keys.rows.get(id)).cloned())
    }

    async fn find_by_id(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.store.snapshot().tables.api_keys.in_tenant(tenant, id).cloned())
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let state = self.store.snapshot();
        let mut keys: Vec<ApiKey> = state
            .tables
            .api_keys
            .rows
            .values()
            .filter(|key| key.tenant_id == tenant)
            .cloned()
            .collect();
        // Newest first; ids (v7) break ties the way PostgreSQL's ORDER BY does.
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(keys)
    }

    async fn revoke(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            tables.api_keys.modify(tenant, id, |key| {
                key.revoked_at.get_or_insert(at);
            })
        })
    }

    async fn touch(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store
            .update_tables(|tables| {
                let Some(key) = tables.api_keys.in_tenant(tenant, id) else {
                    return Ok(false);
                };
                if key.last_used_at.is_some_and(|last| last >= not_before) {
                    return Ok(false);
                }
                tables.api_keys.modify(tenant, id, |key| key.last_used_at = Some(at))?;
                Ok(true)
            })
            .await
    }
}
