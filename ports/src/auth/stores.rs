use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

use crate::StoreError;
use crate::auth::{RefreshTokenRecord, TokenHash, VerificationPurpose, VerificationToken};
use crate::model::{RefreshTokenId, TokenFamilyId, UserId};
use crate::persistence::Transaction;

/// Stores refresh tokens by hash, with rotation and family revocation.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RefreshTokenStore: Interface {
    /// Inserts a token record.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the hash exists, [`StoreError::Backend`].
    async fn insert(&self, tx: &mut Transaction, record: &RefreshTokenRecord) -> Result<(), StoreError>;

    /// The record with this hash, locked for the rest of the transaction so
    /// two concurrent refreshes of one token serialize.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_for_update(
        &self,
        tx: &mut Transaction,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// The record with this id.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_by_id(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// Marks a token as exchanged for `successor`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn mark_rotated(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
        successor: RefreshTokenId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Revokes one token.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn revoke(&self, tx: &mut Transaction, id: RefreshTokenId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Revokes every token of a family; returns how many were live.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn revoke_family(
        &self,
        tx: &mut Transaction,
        family: TokenFamilyId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Revokes every token of a user except those of `keep_family`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn revoke_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        keep_family: Option<TokenFamilyId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes records that expired before `before`; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Stores single-use mailed tokens by hash.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait VerificationTokenStore: Interface {
    /// Inserts a token.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the hash exists, [`StoreError::Backend`].
    async fn insert(&self, tx: &mut Transaction, token: &VerificationToken) -> Result<(), StoreError>;

    /// Atomically marks the unused, unexpired token of this purpose as used and
    /// returns it; `None` when it is unknown, used or expired.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn consume(
        &self,
        tx: &mut Transaction,
        purpose: VerificationPurpose,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationToken>, StoreError>;

    /// Invalidates the user's unused tokens of a purpose (a new one supersedes them).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn invalidate_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        purpose: VerificationPurpose,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Deletes tokens that expired before `before`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
