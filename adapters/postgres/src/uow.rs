//! Units of work: one PostgreSQL transaction per use case.

use std::any::Any;
use std::fmt;

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::persistence::{Transaction, Tx, UnitOfWork};
use sqlx::{PgConnection, Postgres};

use crate::database::PgDatabase;
use crate::error::store_error;
use crate::scope::{SET_SCOPE, Scope};
use crate::telemetry::DbTelemetry;

/// An open unit of work: a pooled connection inside `BEGIN`.
///
/// Every statement runs in a row-level-security [`Scope`]: repositories call
/// [`PgTx::scoped`] with the tenant their method was given (or a named
/// bypass) before they run it, and the scope is set again only when it
/// changes, so a unit of work of one tenant pays one `set_config`.
///
/// A statement that fails inside a PostgreSQL transaction aborts it, and a
/// `COMMIT` of an aborted transaction quietly rolls back. So the adapter
/// remembers any failed statement and refuses to commit, rather than let a
/// use case that ignored an error believe its writes were kept.
pub struct PgTx {
    inner: sqlx::Transaction<'static, Postgres>,
    telemetry: DbTelemetry,
    failed: bool,
    scope: Option<Scope>,
}

impl PgTx {
    /// A transaction opened with `scope` already set (or none yet).
    pub(crate) fn new(
        inner: sqlx::Transaction<'static, Postgres>,
        telemetry: DbTelemetry,
        scope: Option<Scope>,
    ) -> Self {
        Self {
            inner,
            telemetry,
            failed: false,
            scope,
        }
    }

    /// Makes the next statements run in `scope` (`app.tenant_id` or
    /// `app.bypass`, transaction-local); a no-op when it is already set.
    pub(crate) async fn scoped(&mut self, scope: Scope) -> Result<&mut Self, StoreError> {
        if self.scope != Some(scope) {
            let (tenant, bypass) = scope.settings();
            self.run("tx.scope", |conn| {
                sqlx::query(SET_SCOPE).bind(tenant).bind(bypass).execute(conn)
            })
            .await?;
            if let Scope::Bypass(bypass) = scope {
                self.telemetry.bypassed(bypass);
            }
            self.scope = Some(scope);
        }
        Ok(self)
    }

    /// Commits a transaction the adapter opened itself (a write outside a unit of work).
    pub(crate) async fn finish(self) -> Result<(), StoreError> {
        Tx::commit(Box::new(self)).await
    }

    /// The PostgreSQL transaction inside `tx`.
    pub(crate) fn of(tx: &mut Transaction) -> Result<&mut Self, StoreError> {
        tx.downcast_mut::<Self>()
    }

    /// Runs one statement of the unit of work (see [`DbTelemetry::observe`])
    /// and maps its error; a failure marks the transaction as failed.
    pub(crate) async fn run<'c, T, F>(
        &'c mut self,
        operation: &'static str,
        statement: impl FnOnce(&'c mut PgConnection) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, sqlx::Error>> + 'c,
    {
        let Self {
            inner,
            telemetry,
            failed,
            ..
        } = self;
        let result = telemetry.observe(operation, statement(inner)).await;
        if result.is_err() {
            *failed = true;
        }
        result.map_err(store_error)
    }
}

impl fmt::Debug for PgTx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTx")
            .field("failed", &self.failed)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Self {
            inner,
            telemetry,
            failed,
            ..
        } = *self;
        if failed {
            // Rolling back explicitly returns the connection clean at once.
            let _ = telemetry.observe("tx.rollback", inner.rollback()).await;
            return Err(StoreError::backend(
                "a statement of this unit of work failed, so it was rolled back instead of committed",
            ));
        }
        telemetry
            .observe("tx.commit", inner.commit())
            .await
            .map_err(store_error)
    }

    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        let Self { inner, telemetry, .. } = *self;
        telemetry
            .observe("tx.rollback", inner.rollback())
            .await
            .map_err(store_error)
    }

    fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}

/// Opens units of work on a [`PgDatabase`] (`BEGIN` on a pooled connection,
/// at PostgreSQL's default READ COMMITTED isolation; repositories lock the
/// rows they must serialise on).
#[derive(Clone, Debug)]
pub struct PgUnitOfWork {
    db: PgDatabase,
}

impl PgUnitOfWork {
    /// A unit of work over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl UnitOfWork for PgUnitOfWork {
    async fn begin(&self) -> Result<Transaction, StoreError> {
        let telemetry = self.db.telemetry().clone();
        let inner = telemetry
            .observe("tx.begin", self.db.pool().begin())
            .await
            .map_err(store_error)?;
        // The scope is set by the first statement: only the repositories
        // know which tenant (or bypass) it is for.
        Ok(Transaction::new(PgTx::new(inner, telemetry, None)))
    }
}
