use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

use crate::StoreError;
use crate::identity::{DigestRecipient, User, UserFilter};
use crate::model::{Email, Page, PageRequest, TenantId, UserId};
use crate::persistence::Transaction;

/// Stores users (the seed's `UserRepository`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UserRepository: Interface {
    /// The user with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn find_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user with this (normalized) email in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn find_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>, StoreError>;

    /// Users matching the filter, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a cursor this list did not make,
    /// [`StoreError::Backend`] when the backend fails.
    async fn list(&self, tenant: TenantId, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError>;

    /// Inserts a user.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email is taken in the tenant,
    /// [`StoreError::Backend`] when the backend fails.
    async fn create(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError>;

    /// Replaces a user's stored fields (role assignments live in [`crate::identity::RoleRepository`]).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in its tenant,
    /// [`StoreError::Conflict`] when the new email is taken,
    /// [`StoreError::Backend`] when the backend fails.
    async fn update(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError>;

    /// Deletes a user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in the tenant,
    /// [`StoreError::Backend`] when the backend fails.
    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: UserId) -> Result<(), StoreError>;

    /// Tenants where at least one user opted in to the digest, in id order
    /// (the one read that crosses tenants: the digest's cron serves them all).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn digest_tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// The tenant's users who opted in to the digest, in id order, after
    /// `after` (exclusive), at most `limit`, each with the end of the last
    /// period whose digest was queued for them.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn digest_recipients(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<DigestRecipient>, StoreError>;

    /// Records that the digest of the period ending at `period_end` was
    /// queued for the user. A period ending earlier than the one recorded
    /// leaves the record unchanged, so a late re-run cannot move it back.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the user does not exist in the tenant,
    /// [`StoreError::Backend`] when the backend fails.
    async fn record_digest(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: UserId,
        period_end: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
