use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::blob::BlobKey;
use crate::files::StoredFile;
use crate::model::{FileId, TenantId};
use crate::persistence::Transaction;

/// Stores files' metadata. Reads take the tenant, so no adapter can forget
/// the tenant filter; writes take the unit of work's transaction, so a row
/// commits with its audit entry.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait FileRepository: Interface {
    /// The file with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_by_id(&self, tenant: TenantId, id: FileId) -> Result<Option<StoredFile>, StoreError>;

    /// The files attached to a resource (any purpose), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn list_attached(
        &self,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError>;

    /// Whether any file's bytes are at `key` (the orphan sweep asks).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn key_in_use(&self, key: &BlobKey) -> Result<bool, StoreError>;

    /// Inserts a file.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or the key exists, [`StoreError::Backend`].
    async fn create(&self, tx: &mut Transaction, file: &StoredFile) -> Result<(), StoreError>;

    /// Deletes a file's row.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: FileId) -> Result<(), StoreError>;

    /// Deletes the rows of every file attached to `to` (any purpose) and returns them.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn delete_attached(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, StoreError>;
}
