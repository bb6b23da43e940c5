use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::audit::{AuditAction, AuditEntry, AuditFilter, ChainReport};
use crate::model::{Page, PageRequest, RequestContext, TenantId, ValidationErrors};

/// What the auditor can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The query is invalid (bad cursor, bad range).
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// The store failed.
    #[error("audit backend failed")]
    Backend(#[source] BoxError),
}

/// Records and queries the audit log (the seed's `Auditor`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Auditor: Interface {
    /// Records an action outside a unit of work (batched, durable on shutdown).
    ///
    /// # Errors
    /// [`AuditError::Backend`] when the writer queue is closed.
    async fn record(&self, ctx: &RequestContext, action: AuditAction) -> Result<(), AuditError>;

    /// Entries of the caller's tenant matching the filter, newest first.
    ///
    /// # Errors
    /// [`AuditError::Validation`], [`AuditError::Backend`].
    async fn query(
        &self,
        ctx: &RequestContext,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, AuditError>;

    /// Walks `tenant`'s chain in sequence order and checks every link and the
    /// latest signed checkpoint; a broken chain is a report, not an error.
    ///
    /// # Errors
    /// [`AuditError::Backend`] when the store cannot be read.
    async fn verify(&self, tenant: TenantId) -> Result<ChainReport, AuditError>;

    /// Every tenant with a chain (what `platform audit verify` walks).
    ///
    /// # Errors
    /// [`AuditError::Backend`].
    async fn chained_tenants(&self) -> Result<Vec<TenantId>, AuditError>;

    /// Signs and stores a checkpoint of every chain head that moved since
    /// its tenant's latest checkpoint; returns how many were written (0
    /// without a checkpoint key).
    ///
    /// # Errors
    /// [`AuditError::Backend`].
    async fn checkpoint(&self) -> Result<usize, AuditError>;
}
