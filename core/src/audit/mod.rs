//! The audit log as the outside asks for it: record an action outside a
//! unit of work, and query the caller's tenant.
//!
//! Use cases that change state append their entries inside their own unit
//! of work (through [`platform_ports::audit::AuditStore::append`]); this
//! service is for actions with nothing else to commit, such as reads worth
//! recording.

mod chain;
#[cfg(test)]
mod tests;
mod writer;

pub use chain::{HmacCheckpointSigner, HmacCheckpointSignerParameters, verify_chain, write_checkpoints};
pub use writer::{AuditWriterSettings, BatchedAuditWriter};

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditAction, AuditEntry, AuditFilter, ChainReport, CheckpointSigner};
use platform_ports::audit::{AuditError, Auditor};
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::model::{FieldError, Page, PageRequest, RequestContext, TenantId};

use crate::support::{audit_entry_as, foreign_cursor};

/// Implements [`Auditor`] over the [`AuditStore`].
#[derive(shaku::Component)]
#[shaku(interface = Auditor)]
pub struct AuditService {
    #[shaku(inject)]
    store: Arc<dyn AuditStore>,
    #[shaku(inject)]
    clock: Arc<dyn Clock>,
    #[shaku(inject)]
    ids: Arc<dyn IdGenerator>,
    #[shaku(inject)]
    signer: Arc<dyn CheckpointSigner>,
}

impl AuditService {
    /// A service over `store`, stamping entries with `clock` and `ids`,
    /// checking and signing checkpoints with `signer`.
    #[must_use]
    pub fn new(
        store: Arc<dyn AuditStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        signer: Arc<dyn CheckpointSigner>,
    ) -> Self {
        Self {
            store,
            clock,
            ids,
            signer,
        }
    }
}

fn backend(err: StoreError) -> AuditError {
    AuditError::Backend(Box::new(err))
}

#[async_trait]
impl Auditor for AuditService {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, action = %action.action))]
    async fn record(&self, ctx: &RequestContext, action: AuditAction) -> Result<(), AuditError> {
        let actor = action.actor_id.or_else(|| ctx.user_id());
        let entry = audit_entry_as(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            actor,
            &action.action,
            action.target_id,
            action.metadata,
        );
        self.store.append_batch(&[entry]).await.map_err(backend)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    async fn query(
        &self,
        ctx: &RequestContext,
        filter: AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>, AuditError> {
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(AuditError::Validation(
                FieldError::new("from", "invalid_range", "must not be after `to`").into(),
            ));
        }
        self.store
            .query(ctx.tenant_id, &filter, &page)
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => AuditError::Validation(foreign_cursor()),
                StoreError::Invalid(reason) => AuditError::Validation(crate::support::unstorable(&reason)),
                other => backend(other),
            })
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %tenant))]
    async fn verify(&self, tenant: TenantId) -> Result<ChainReport, AuditError> {
        let report = verify_chain(self.store.as_ref(), self.signer.as_ref(), tenant)
            .await
            .map_err(backend)?;
        match &report.broken {
            None => tracing::info!(verified = report.verified, "audit chain intact"),
            Some(broken) => tracing::error!(
                seq = broken.seq,
                entry_id = ?broken.entry_id,
                fault = ?broken.fault,
                "audit chain broken"
            ),
        }
        Ok(report)
    }

    async fn chained_tenants(&self) -> Result<Vec<TenantId>, AuditError> {
        self.store.chained_tenants().await.map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn checkpoint(&self) -> Result<usize, AuditError> {
        write_checkpoints(self.store.as_ref(), self.signer.as_ref(), self.clock.as_ref())
            .await
            .map_err(backend)
    }
}
