//! Refresh tokens: looked up by hash, revoked per token, family or user.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::{HashMap, OrdMap, OrdSet};
use platform_ports::StoreError;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::auth::{RefreshTokenRecord, TokenHash};
use platform_ports::model::{RefreshTokenId, TokenFamilyId, UserId};
use platform_ports::persistence::Transaction;
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx};

/// The refresh-token table with its hash, family and user indexes.
#[derive(Clone, Default)]
pub(crate) struct RefreshTokenTable {
    rows: OrdMap<RefreshTokenId, RefreshTokenRecord>,
    by_hash: HashMap<TokenHash, RefreshTokenId>,
    by_family: OrdSet<(TokenFamilyId, RefreshTokenId)>,
    by_user: OrdSet<(UserId, RefreshTokenId)>,
}

/// A token that could still be exchanged at `at`: neither revoked, rotated
/// nor expired. Revocations count these, so a caller learns how many
/// sessions it actually ended.
fn is_live(record: &RefreshTokenRecord, at: DateTime<Utc>) -> bool {
    record.revoked_at.is_none() && record.rotated_at.is_none() && record.expires_at > at
}

impl RefreshTokenTable {
    fn get(&self, id: RefreshTokenId) -> Option<&RefreshTokenRecord> {
        self.rows.get(&id)
    }

    fn get_by_hash(&self, hash: &TokenHash) -> Option<&RefreshTokenRecord> {
        self.by_hash.get(hash).and_then(|id| self.rows.get(id))
    }

    fn insert(&mut self, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        if self.by_hash.contains_key(&record.token_hash) {
            return Err(StoreError::Conflict("token_hash".to_owned()));
        }
        if self.rows.contains_key(&record.id) {
            return Err(StoreError::Conflict("token_id".to_owned()));
        }
        self.by_hash.insert(record.token_hash.clone(), record.id);
        self.by_family.insert((record.family_id, record.id));
        self.by_user.insert((record.user_id, record.id));
        self.rows.insert(record.id, record.clone());
        Ok(())
    }

    fn modify(&mut self, id: RefreshTokenId, f: impl FnOnce(&mut RefreshTokenRecord)) -> Result<(), StoreError> {
        f(self.rows.get_mut(&id).ok_or(StoreError::NotFound)?);
        Ok(())
    }

    fn family(&self, family: TokenFamilyId) -> Vec<RefreshTokenId> {
        let ids = (family, RefreshTokenId(Uuid::nil()))..=(family, RefreshTokenId(Uuid::max()));
        self.by_family.range(ids).map(|(_, id)| *id).collect()
    }

    fn of_user(&self, user: UserId) -> Vec<RefreshTokenId> {
        let ids = (user, RefreshTokenId(Uuid::nil()))..=(user, RefreshTokenId(Uuid::max()));
        self.by_user.range(ids).map(|(_, id)| *id).collect()
    }

    /// Stamps every not yet revoked token of `ids` as revoked at `at`;
    /// returns how many of them were live.
    fn revoke_all(&mut self, ids: impl IntoIterator<Item = RefreshTokenId>, at: DateTime<Utc>) -> u64 {
        let mut live = 0;
        for id in ids {
            if let Some(record) = self.rows.get_mut(&id) {
                if is_live(record, at) {
                    live += 1;
                }
                record.revoked_at.get_or_insert(at);
            }
        }
        live
    }

    /// Removes records that expired before `before`; returns how many.
    fn delete_expired(&mut self, before: DateTime<Utc>) -> u64 {
        let expired: Vec<RefreshTokenRecord> = self
            .rows
            .values()
            .filter(|record| record.expires_at < before)
            .cloned()
            .collect();
        for record in &expired {
            self.by_hash.remove(&record.token_hash);
            self.by_family.remove(&(record.family_id, record.id));
            self.by_user.remove(&(record.user_id, record.id));
            self.rows.remove(&record.id);
        }
        expired.len() as u64
    }
}

/// [`RefreshTokenStore`] over a [`MemoryStore`].
///
/// `find_for_update` needs no row lock here: the unit of work already holds
/// the store's writer lock, which serialises concurrent refreshes.
#[derive(Component)]
#[shaku(interface = RefreshTokenStore)]
pub struct MemoryRefreshTokenStore {
    store: Arc<MemoryStore>,
}

impl MemoryRefreshTokenStore {
    /// A token store over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryRefreshTokenStore>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryRefreshTokenStoreParameters {
        MemoryRefreshTokenStoreParameters { store }
    }
}

impl fmt::Debug for MemoryRefreshTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRefreshTokenStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn insert(&self, tx: &mut Transaction, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.refresh_tokens.insert(record))
    }

    async fn find_for_update(
        &self,
        tx: &mut Transaction,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(MemoryTx::of(tx, &self.store)?
            .tables()
            .refresh_tokens
            .get_by_hash(hash)
            .cloned())
    }

    async fn find_by_id(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        Ok(MemoryTx::of(tx, &self.store)?.tables().refresh_tokens.get(id).cloned())
    }

    async fn mark_rotated(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
        successor: RefreshTokenId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            tables.refresh_tokens.modify(id, |record| {
                record.rotated_at = Some(at);
                record.replaced_by = Some(successor);
            })
        })
    }

    async fn revoke(&self, tx: &mut Transaction, id: RefreshTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            tables.refresh_tokens.modify(id, |record| {
                record.revoked_at.get_or_insert(at);
            })
        })
    }

    async fn revoke_family(
        &self,
        tx: &mut Transaction,
        family: TokenFamilyId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let ids = tables.refresh_tokens.family(family);
            Ok(tables.refresh_tokens.revoke_all(ids, at))
        })
    }

    async fn revoke_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        keep_family: Option<TokenFamilyId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| {
            let tokens = &mut tables.refresh_tokens;
            let ids: Vec<RefreshTokenId> = tokens
                .of_user(user_id)
                .into_iter()
                .filter(|id| {
                    tokens
                        .get(*id)
                        .is_some_and(|record| Some(record.family_id) != keep_family)
                })
                .collect();
            Ok(tokens.revoke_all(ids, at))
        })
    }

    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store
            .update_tables(|tables| Ok(tables.refresh_tokens.delete_expired(before)))
            .await
    }
}
