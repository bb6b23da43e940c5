//! Single-use mailed tokens (email verification, password reset).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::HashMap;
use platform_ports::StoreError;
use platform_ports::auth::VerificationTokenStore;
use platform_ports::auth::{TokenHash, VerificationPurpose, VerificationToken};
use platform_ports::model::UserId;
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// The verification-token table, keyed by hash.
///
/// Per-user operations scan it: a user holds a handful of these tokens at
/// most and they are deleted once expired, so an index would not pay.
#[derive(Clone, Default)]
pub(crate) struct VerificationTokenTable {
    rows: HashMap<TokenHash, VerificationToken>,
}

impl VerificationTokenTable {
    fn insert(&mut self, token: &VerificationToken) -> Result<(), StoreError> {
        if self.rows.contains_key(&token.token_hash) {
            return Err(StoreError::Conflict("token_hash".to_owned()));
        }
        self.rows.insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    fn consume(
        &mut self,
        purpose: VerificationPurpose,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Option<VerificationToken> {
        let token = self.rows.get_mut(hash)?;
        if token.purpose != purpose || token.used_at.is_some() || token.expires_at <= now {
            return None;
        }
        token.used_at = Some(now);
        Some(token.clone())
    }

    fn invalidate_user(&mut self, user: UserId, purpose: VerificationPurpose, now: DateTime<Utc>) -> u64 {
        let mut count = 0;
        for (_, token) in self.rows.iter_mut() {
            if token.user_id == user && token.purpose == purpose && token.used_at.is_none() {
                token.used_at = Some(now);
                count += 1;
            }
        }
        count
    }

    fn delete_expired(&mut self, before: DateTime<Utc>) -> u64 {
        let before_len = self.rows.len();
        self.rows.retain(|_, token| token.expires_at >= before);
        (before_len - self.rows.len()) as u64
    }
}

/// [`VerificationTokenStore`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = VerificationTokenStore)]
pub struct MemoryVerificationTokenStore {
    store: Arc<MemoryStore>,
}

impl MemoryVerificationTokenStore {
    /// A token store over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryVerificationTokenStore>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryVerificationTokenStoreParameters {
        MemoryVerificationTokenStoreParameters { store }
    }
}

impl fmt::Debug for MemoryVerificationTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryVerificationTokenStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl VerificationTokenStore for MemoryVerificationTokenStore {
    async fn insert(&self, tx: &mut Transaction, token: &VerificationToken) -> Result<(), StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| tables.verification_tokens.insert(token))
    }

    async fn consume(
        &self,
        tx: &mut Transaction,
        purpose: VerificationPurpose,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationToken>, StoreError> {
        MemoryTx::of(tx, &self.store)?.write(|tables| Ok(tables.verification_tokens.consume(purpose, hash, now)))
    }

    async fn invalidate_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        purpose: VerificationPurpose,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        MemoryTx::of(tx, &self.store)?
            .write(|tables| Ok(tables.verification_tokens.invalidate_user(user_id, purpose, now)))
    }

    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store
            .update_tables(|tables| Ok(tables.verification_tokens.delete_expired(before)))
            .await
    }
}
