use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::audit::{AuditEntry, AuditFilter, ChainHead, ChainedEntry, Checkpoint};
use crate::model::{Page, PageRequest, TenantId};
use crate::persistence::Transaction;

/// The append-only audit log. There is no update or delete, by design.
///
/// Every stored entry is a link of its tenant's hash chain: the store gives
/// it the next sequence number of the tenant and the hash of the entry
/// before it ([`crate::audit::chain_hash`]) when it commits, in commit order,
/// whoever writes (units of work, batches, several instances).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditStore: Interface {
    /// Appends an entry inside the use case's unit of work; it is chained
    /// when the unit of work commits.
    ///
    /// # Errors
    /// [`StoreError::Backend`] (the use case must roll back).
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Appends entries recorded outside a unit of work, in one write, chained
    /// in slice order.
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

    /// The tenant's chained entries with a sequence number above `after`, in
    /// sequence order, at most `limit`. Reads what is stored, unchecked.
    ///
    /// # Errors
    /// [`StoreError::Backend`] (also for a link that cannot be read back).
    async fn chain(&self, tenant: TenantId, after: u64, limit: u32) -> Result<Vec<ChainedEntry>, StoreError>;

    /// The tenant's chain head as the store records it (`None`: no entry yet).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn chain_head(&self, tenant: TenantId) -> Result<Option<ChainHead>, StoreError>;

    /// Every tenant with a chain.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn chained_tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// Stores a signed checkpoint (one per tenant and sequence number; a
    /// second for the same place is ignored).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;

    /// The tenant's checkpoint with the highest sequence number.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn latest_checkpoint(&self, tenant: TenantId) -> Result<Option<Checkpoint>, StoreError>;
}
