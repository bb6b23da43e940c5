use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::audit::{AuditAction, AuditEntry, AuditFilter};
use crate::model::{Page, PageRequest, RequestContext, ValidationErrors};

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
}
