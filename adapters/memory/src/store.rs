//! The shared in-memory database and its units of work.
//!
//! Every table is a persistent map (`im`), so a snapshot of the whole
//! database is a handful of reference-count increments. A unit of work takes
//! the writer lock, copies the committed snapshot and writes to its copy;
//! commit swaps the copy in, rollback or drop forgets it. Readers outside a
//! transaction only ever see committed snapshots and never wait for writers.

mod cursor;

use std::any::Any;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::audit::AuditEntry;
use platform_ports::events::OutboxMessage;
use platform_ports::persistence::{Transaction, Tx, UnitOfWork};
use shaku::Component;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::api_keys::ApiKeyTable;
use crate::audit::AuditLog;
use crate::files::FileTable;
use crate::outbox::OutboxQueue;
use crate::posts::PostTable;
use crate::processed::ProcessedTable;
use crate::roles::RoleTable;
use crate::stats::AuthorStatsTable;
use crate::tokens::{RefreshTokenTable, VerificationTokenTable};
use crate::users::UserTable;
use crate::webhooks::WebhookTable;

pub(crate) use cursor::{decode_id, decode_time_id, encode_id, encode_time_id, paginate};

/// Tables written only by units of work (or under the writer lock): commit
/// replaces them wholesale with the transaction's copy.
#[derive(Clone, Default)]
pub(crate) struct Tables {
    pub(crate) users: UserTable,
    pub(crate) roles: RoleTable,
    pub(crate) refresh_tokens: RefreshTokenTable,
    pub(crate) verification_tokens: VerificationTokenTable,
    pub(crate) posts: PostTable,
    pub(crate) processed: ProcessedTable,
    pub(crate) author_stats: AuthorStatsTable,
    pub(crate) api_keys: ApiKeyTable,
    pub(crate) webhooks: WebhookTable,
    pub(crate) files: FileTable,
}

/// Logs that are also written outside units of work (the outbox relay,
/// batched audit writes). A transaction buffers its appends and commit adds
/// them to the latest committed logs, so it never overwrites what the relay
/// did while the transaction was open.
#[derive(Clone, Default)]
pub(crate) struct Logs {
    pub(crate) audit: AuditLog,
    pub(crate) outbox: OutboxQueue,
}

/// One consistent version of the whole database.
#[derive(Clone, Default)]
pub(crate) struct State {
    pub(crate) tables: Tables,
    pub(crate) logs: Logs,
}

/// The shared in-memory database behind every memory repository.
///
/// Create one per process (or per test), wrap it in an `Arc` and hand the
/// same `Arc` to the unit of work and to every repository.
///
/// Units of work are serialised by one writer lock held for the whole
/// transaction, so a task must not open a second unit of work (or call a
/// table-wide maintenance write such as `delete_expired`) while it holds one.
#[derive(Default)]
pub struct MemoryStore {
    committed: RwLock<Arc<State>>,
    writer: Arc<Mutex<()>>,
}

impl MemoryStore {
    /// An empty database.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The committed state as of now; later commits do not change it.
    pub(crate) fn snapshot(&self) -> Arc<State> {
        Arc::clone(&self.committed.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `f` to the committed logs atomically: when `f` fails, nothing
    /// it did is kept. Does not wait for open units of work.
    pub(crate) fn update_logs<R>(&self, f: impl FnOnce(&mut Logs) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut guard = self.committed.write().unwrap_or_else(PoisonError::into_inner);
        // Working on an O(1) copy makes the change all-or-nothing without
        // every caller having to validate before it mutates.
        let mut logs = guard.logs.clone();
        let result = f(&mut logs)?;
        Arc::make_mut(&mut guard).logs = logs;
        Ok(result)
    }

    /// Applies `f` to the committed tables atomically, after every open unit
    /// of work has finished (they would otherwise overwrite the change when
    /// they commit their copy).
    pub(crate) async fn update_tables<R>(
        &self,
        f: impl FnOnce(&mut Tables) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let _writer = self.writer.lock().await;
        let mut guard = self.committed.write().unwrap_or_else(PoisonError::into_inner);
        let mut tables = guard.tables.clone();
        let result = f(&mut tables)?;
        Arc::make_mut(&mut guard).tables = tables;
        Ok(result)
    }

    /// Publishes a transaction's tables and appends its buffered log entries.
    fn commit(&self, tables: Tables, audit: Vec<AuditEntry>, outbox: Vec<OutboxMessage>) -> Result<(), StoreError> {
        let mut guard = self.committed.write().unwrap_or_else(PoisonError::into_inner);
        let mut logs = guard.logs.clone();
        for entry in audit {
            logs.audit.append(entry)?;
        }
        for message in outbox {
            logs.outbox.push(message);
        }
        *guard = Arc::new(State { tables, logs });
        Ok(())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.snapshot();
        f.debug_struct("MemoryStore")
            .field("users", &state.tables.users.len())
            .field("posts", &state.tables.posts.len())
            .field("audit_entries", &state.logs.audit.len())
            .field("outbox_pending", &state.logs.outbox.len())
            .finish_non_exhaustive()
    }
}

/// An open unit of work on a [`MemoryStore`]: a private copy of the tables
/// plus the audit entries and outbox events it will append on commit.
pub struct MemoryTx {
    store: Arc<MemoryStore>,
    tables: Tables,
    audit: Vec<AuditEntry>,
    outbox: Vec<OutboxMessage>,
    writer: OwnedMutexGuard<()>,
}

impl MemoryTx {
    /// Waits for the writer lock, then copies the committed tables.
    async fn begin(store: Arc<MemoryStore>) -> Self {
        let writer = Arc::clone(&store.writer).lock_owned().await;
        // Taken after the lock: every table write happens under it, so this
        // copy stays current until this transaction commits.
        let tables = store.snapshot().tables.clone();
        Self {
            store,
            tables,
            audit: Vec::new(),
            outbox: Vec::new(),
            writer,
        }
    }

    /// The memory transaction inside `tx`, checked to belong to `store`.
    pub(crate) fn of<'t>(tx: &'t mut Transaction, store: &Arc<MemoryStore>) -> Result<&'t mut Self, StoreError> {
        let this = tx.downcast_mut::<Self>()?;
        if !Arc::ptr_eq(&this.store, store) {
            return Err(StoreError::backend("transaction belongs to another memory store"));
        }
        Ok(this)
    }

    /// The transaction's own view of the tables (its writes included).
    pub(crate) fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Applies `f` to the transaction's tables; a failing `f` leaves them as
    /// they were, so a refused write never half-happens.
    pub(crate) fn write<R>(&mut self, f: impl FnOnce(&mut Tables) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut tables = self.tables.clone();
        let result = f(&mut tables)?;
        self.tables = tables;
        Ok(result)
    }

    /// The committed state, for checks against rows written outside units of work.
    pub(crate) fn committed(&self) -> Arc<State> {
        self.store.snapshot()
    }

    /// Audit entries appended in this transaction so far.
    pub(crate) fn pending_audit(&mut self) -> &mut Vec<AuditEntry> {
        &mut self.audit
    }

    /// Outbox messages enqueued in this transaction so far.
    pub(crate) fn pending_outbox(&mut self) -> &mut Vec<OutboxMessage> {
        &mut self.outbox
    }
}

impl fmt::Debug for MemoryTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTx")
            .field("pending_audit", &self.audit.len())
            .field("pending_outbox", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Tx for MemoryTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Self {
            store,
            tables,
            audit,
            outbox,
            writer,
        } = *self;
        let result = store.commit(tables, audit, outbox);
        // Released only after the new state is visible, so the next unit of
        // work copies it rather than the state before this one.
        drop(writer);
        result
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}

/// Opens units of work on a [`MemoryStore`].
#[derive(Component)]
#[shaku(interface = UnitOfWork)]
pub struct MemoryUnitOfWork {
    store: Arc<MemoryStore>,
}

impl MemoryUnitOfWork {
    /// A unit of work over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryUnitOfWork>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryUnitOfWorkParameters {
        MemoryUnitOfWorkParameters { store }
    }
}

impl fmt::Debug for MemoryUnitOfWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryUnitOfWork").finish_non_exhaustive()
    }
}

#[async_trait]
impl UnitOfWork for MemoryUnitOfWork {
    async fn begin(&self) -> Result<Transaction, StoreError> {
        Ok(Transaction::new(MemoryTx::begin(Arc::clone(&self.store)).await))
    }
}
