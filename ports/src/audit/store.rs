use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::audit::{AuditEntry, AuditFilter};
use crate::model::{Page, PageRequest, TenantId};
use crate::persistence::Transaction;

/// The append-only audit log. There is no update or delete, by design.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditStore: Interface {
    /// Appends an entry inside the use case's unit of work.
    ///
    /// # Errors
    /// [`StoreError::Backend`] (the use case must roll back).
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Appends entries recorded outside a unit of work, in one write.
    ///
    /// # Errors
    /// [`StoreError::Backend`]; no entry of the batch is stored then.
    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;

    /// Entries matching the filter, newest first.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a foreign cursor, [`StoreError::Backend`].
    async fn query(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError>;
}
