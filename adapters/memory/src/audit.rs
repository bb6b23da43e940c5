//! The append-only audit log, ordered per tenant by time, and each tenant's
//! hash chain over it (the same links PostgreSQL stores).

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::{HashSet, OrdMap};
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter, ChainHash, ChainHead, ChainedEntry, Checkpoint, chain_hash};
use platform_ports::model::{AuditId, Page, PageRequest, TenantId};
use platform_ports::persistence::Transaction;
use shaku::Component;
use uuid::Uuid;

use crate::store::{MemoryStore, MemoryTx, decode_time_id, encode_time_id, paginate};

/// Names audit cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "audit";

/// Where an entry sorts: its tenant, then time, then id as a tie-break.
type Key = (TenantId, DateTime<Utc>, AuditId);

/// The audit entries of every tenant; entries are only ever added.
///
/// `append` runs under the store's commit lock (a unit of work's commit or
/// a batch), so links are assigned in commit order, as PostgreSQL's locked
/// chain head does.
#[derive(Clone, Default)]
pub(crate) struct AuditLog {
    entries: OrdMap<Key, AuditEntry>,
    ids: HashSet<AuditId>,
    chain: OrdMap<(TenantId, u64), ChainedEntry>,
    heads: OrdMap<TenantId, ChainHead>,
    checkpoints: OrdMap<(TenantId, u64), Checkpoint>,
}

fn duplicate() -> StoreError {
    StoreError::Conflict("audit_id".to_owned())
}

impl AuditLog {
    /// How many entries all tenants hold.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an entry; an id already stored is refused rather than overwritten.
    pub(crate) fn append(&mut self, entry: AuditEntry) -> Result<(), StoreError> {
        if self.ids.insert(entry.id).is_some() {
            return Err(duplicate());
        }
        let tenant = entry.tenant_id;
        let (seq, prev_hash) = self
            .heads
            .get(&tenant)
            .map_or((1, ChainHash::GENESIS), |head| (head.seq + 1, head.hash));
        let hash = chain_hash(&entry, seq, &prev_hash);
        self.heads.insert(
            tenant,
            ChainHead {
                tenant_id: tenant,
                seq,
                hash,
            },
        );
        self.chain.insert(
            (tenant, seq),
            ChainedEntry {
                entry: entry.clone(),
                seq,
                prev_hash,
                hash,
            },
        );
        self.entries.insert((tenant, entry.occurred_at, entry.id), entry);
        Ok(())
    }

    /// The tenant's entries in `[from, to)` and before `before`, newest first.
    fn newest_first(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        before: Option<Key>,
    ) -> impl Iterator<Item = &AuditEntry> {
        let from = filter.from.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let lower = Bound::Included((tenant, from, AuditId(Uuid::nil())));
        // `(tenant, to, nil)` sorts before every entry stamped `to`, so
        // excluding it excludes them all.
        let until = filter.to.map(|to| (tenant, to, AuditId(Uuid::nil())));
        let upper = match (until, before) {
            (Some(a), Some(b)) => Bound::Excluded(a.min(b)),
            (Some(key), None) | (None, Some(key)) => Bound::Excluded(key),
            (None, None) => Bound::Included((tenant, DateTime::<Utc>::MAX_UTC, AuditId(Uuid::max()))),
        };
        self.entries.range((lower, upper)).rev().map(|(_, entry)| entry)
    }
}

/// Whether `entry` passes the filter's equality conditions (time is a range).
fn matches(entry: &AuditEntry, filter: &AuditFilter) -> bool {
    filter.actor_id.is_none_or(|actor| entry.actor_id == Some(actor))
        && filter.action.as_ref().is_none_or(|action| entry.action == *action)
        && filter
            .target_id
            .as_ref()
            .is_none_or(|target| entry.target_id.as_ref() == Some(target))
}

/// [`AuditStore`] over a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = AuditStore)]
pub struct MemoryAuditStore {
    store: Arc<MemoryStore>,
}

impl MemoryAuditStore {
    /// An audit store over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryAuditStore>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryAuditStoreParameters {
        MemoryAuditStoreParameters { store }
    }
}

impl fmt::Debug for MemoryAuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAuditStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError> {
        let tx = MemoryTx::of(tx, &self.store)?;
        // Checked now so the use case learns of the clash at the write, as it
        // would from a database; commit checks again against later batches.
        let stored = tx.committed().logs.audit.ids.contains(&entry.id);
        if stored || tx.pending_audit().iter().any(|pending| pending.id == entry.id) {
            return Err(duplicate());
        }
        tx.pending_audit().push(entry.clone());
        Ok(())
    }

    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        self.store
            .update_logs(|logs| entries.iter().try_for_each(|entry| logs.audit.append(entry.clone())))
    }

    async fn query(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = page
            .cursor
            .as_deref()
            .map(|cursor| decode_time_id(CURSOR_KIND, cursor))
            .transpose()?
            .map(|(at, id)| (tenant, at, AuditId(id)));
        let state = self.store.snapshot();
        let entries = state
            .logs
            .audit
            .newest_first(tenant, filter, before)
            .filter(|entry| matches(entry, filter))
            .cloned();
        Ok(paginate(entries, page.limit, |entry| {
            encode_time_id(CURSOR_KIND, entry.occurred_at, entry.id.0)
        }))
    }

    async fn chain(&self, tenant: TenantId, after: u64, limit: u32) -> Result<Vec<ChainedEntry>, StoreError> {
        let state = self.store.snapshot();
        let lower = Bound::Excluded((tenant, after));
        let upper = Bound::Included((tenant, u64::MAX));
        Ok(state
            .logs
            .audit
            .chain
            .range((lower, upper))
            .take(limit as usize)
            .map(|(_, link)| link.clone())
            .collect())
    }

    async fn chain_head(&self, tenant: TenantId) -> Result<Option<ChainHead>, StoreError> {
        Ok(self.store.snapshot().logs.audit.heads.get(&tenant).copied())
    }

    async fn chained_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        Ok(self.store.snapshot().logs.audit.heads.keys().copied().collect())
    }

    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let key = (checkpoint.head.tenant_id, checkpoint.head.seq);
        self.store.update_logs(|logs| {
            // The first checkpoint of a place stays, as in PostgreSQL.
            if !logs.audit.checkpoints.contains_key(&key) {
                logs.audit.checkpoints.insert(key, checkpoint.clone());
            }
            Ok(())
        })
    }

    async fn latest_checkpoint(&self, tenant: TenantId) -> Result<Option<Checkpoint>, StoreError> {
        let state = self.store.snapshot();
        let range = (Bound::Included((tenant, 0)), Bound::Included((tenant, u64::MAX)));
        Ok(state
            .logs
            .audit
            .checkpoints
            .range(range)
            .next_back()
            .map(|(_, cp)| cp.clone()))
    }
}
