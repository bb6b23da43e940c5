use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::identity::{User, UserFilter};
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
}
