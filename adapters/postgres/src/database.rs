//! The pool every repository shares, and the migrations run through it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::metrics::Metrics;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use crate::error::store_error;
use crate::scope::Scope;
use crate::settings::PgSettings;
use crate::telemetry::DbTelemetry;
use crate::uow::PgTx;

/// What connecting or migrating can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The DSN does not parse.
    #[error("invalid database dsn: {0}")]
    InvalidDsn(#[source] sqlx::Error),
    /// No connection could be opened.
    #[error("no connection could be opened")]
    Connect(#[source] sqlx::Error),
    /// A migration failed or does not match what was applied.
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("query failed")]
    Query(#[source] sqlx::Error),
}

/// A pooled PostgreSQL database: the handle every PostgreSQL adapter takes.
///
/// Cloning is cheap and shares the pool. The pool replaces broken
/// connections on its own (each is pinged before it is handed out), so when
/// PostgreSQL comes back after an outage the next operation simply works.
///
/// The pool's connections act as `app_role` (row-level security binds
/// them); migrations and their status use the owner's connection options
/// when the database knows them.
#[derive(Clone)]
pub struct PgDatabase {
    pool: PgPool,
    telemetry: DbTelemetry,
    owner: Option<PgConnectOptions>,
}

impl PgDatabase {
    /// Opens a pool as `settings` describe and waits for its first
    /// connection, so a wrong DSN or a missing server fails start-up.
    ///
    /// # Errors
    /// [`PgError::InvalidDsn`], [`PgError::Connect`].
    pub async fn connect(settings: &PgSettings, metrics: Option<Arc<dyn Metrics>>) -> Result<Self, PgError> {
        let options = Self::connect_options(settings)?;
        let pool = Self::pool_options(settings)
            .connect_with(options)
            .await
            .map_err(PgError::Connect)?;
        Ok(Self::from_pool(pool, metrics).with_owner(Self::owner_options(settings)?))
    }

    /// Applies the migrations on one connection as the tables' owner
    /// (`migrations_dsn`, else the DSN's user without `app_role`), before
    /// any pool exists: on a new cluster, migration 0013 creates the role the
    /// pool's connections will act as.
    ///
    /// # Errors
    /// [`PgError::InvalidDsn`], [`PgError::Connect`], [`PgError::Migrate`].
    pub async fn migrate_as_owner(settings: &PgSettings) -> Result<(), PgError> {
        let mut conn = PgConnection::connect_with(&Self::owner_options(settings)?)
            .await
            .map_err(PgError::Connect)?;
        let applied = apply_migrations(&mut conn).await;
        let _ = conn.close().await;
        applied.map_err(PgError::Migrate)
    }

    /// A pool that opens its connections on first use: start-up does not
    /// wait for (or fail without) PostgreSQL.
    ///
    /// # Errors
    /// [`PgError::InvalidDsn`].
    pub fn connect_lazy(settings: &PgSettings, metrics: Option<Arc<dyn Metrics>>) -> Result<Self, PgError> {
        let options = Self::connect_options(settings)?;
        let pool = Self::pool_options(settings).connect_lazy_with(options);
        Ok(Self::from_pool(pool, metrics).with_owner(Self::owner_options(settings)?))
    }

    /// Wraps a pool built elsewhere (tests pin a schema through its options).
    /// Migrations then run through the pool, unless [`Self::with_owner`] says
    /// how to connect as the owner.
    #[must_use]
    pub fn from_pool(pool: PgPool, metrics: Option<Arc<dyn Metrics>>) -> Self {
        Self {
            pool,
            telemetry: DbTelemetry::new(metrics.as_deref()),
            owner: None,
        }
    }

    /// Migrations and their status connect with `owner` instead of the pool.
    #[must_use]
    pub fn with_owner(mut self, owner: PgConnectOptions) -> Self {
        self.owner = Some(owner);
        self
    }

    /// The pool's options: the DSN acting as `app_role`. A role given at
    /// start-up is also what `RESET ROLE` returns to, so a statement cannot
    /// shed it.
    fn connect_options(settings: &PgSettings) -> Result<PgConnectOptions, PgError> {
        let options = Self::dsn_options(settings)?;
        Ok(if settings.app_role.is_empty() {
            options
        } else {
            options.options([("role", settings.app_role.as_str())])
        })
    }

    /// The owner's options, for migrations.
    fn owner_options(settings: &PgSettings) -> Result<PgConnectOptions, PgError> {
        match &settings.migrations_dsn {
            Some(dsn) => {
                let options: PgConnectOptions = dsn.expose().parse().map_err(PgError::InvalidDsn)?;
                Ok(options.application_name(&settings.application_name))
            }
            None => Self::dsn_options(settings),
        }
    }

    fn dsn_options(settings: &PgSettings) -> Result<PgConnectOptions, PgError> {
        let options: PgConnectOptions = settings.dsn.expose().parse().map_err(PgError::InvalidDsn)?;
        Ok(options.application_name(&settings.application_name))
    }

    fn pool_options(settings: &PgSettings) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(settings.min_connections.min(settings.max_connections))
            .acquire_timeout(settings.acquire_timeout)
            .max_lifetime(settings.max_lifetime)
            .idle_timeout(settings.idle_timeout)
            // Pings an idle connection before handing it out, so connections
            // broken by a server restart are replaced instead of failing a query.
            .test_before_acquire(true)
    }

    /// Takes a new DSN (a rotated password) for the connections opened from
    /// now on; open ones keep working until they are recycled
    /// (`max_lifetime`, `idle_timeout`), so nothing in flight is cut.
    ///
    /// # Errors
    /// [`PgError::InvalidDsn`]; the pool keeps its old options then.
    pub fn rotate_dsn(&self, settings: &PgSettings) -> Result<(), PgError> {
        self.pool.set_connect_options(Self::connect_options(settings)?);
        Ok(())
    }

    /// The underlying pool.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn telemetry(&self) -> &DbTelemetry {
        &self.telemetry
    }

    /// A transaction of the adapter's own (a read, or a write outside any
    /// unit of work) whose statements run in `scope`: `BEGIN` and the
    /// setting go in one round trip.
    ///
    /// A read simply drops it: sqlx queues the `ROLLBACK` and sends it with
    /// the ping that returns the connection to the pool, off the caller's
    /// path. A write calls [`PgTx::finish`].
    pub(crate) async fn scoped(&self, scope: Scope) -> Result<PgTx, StoreError> {
        let inner = self
            .telemetry
            .observe("tx.begin", self.pool.begin_with(AssertSqlSafe(scope.begin_sql())))
            .await
            .map_err(store_error)?;
        if let Scope::Bypass(bypass) = scope {
            self.telemetry.bypassed(bypass);
        }
        Ok(PgTx::new(inner, self.telemetry.clone(), Some(scope)))
    }

    /// Runs one statement on the pool (outside any unit of work), observed
    /// and with its error mapped: for tables without a tenant (no
    /// row-level security), such as `processed_events`.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        self.telemetry.observe(operation, statement).await.map_err(store_error)
    }

    /// Applies every embedded migration the database has not recorded yet.
    /// Concurrent instances serialise on an advisory lock; re-running is a no-op.
    ///
    /// # Errors
    /// [`PgError::Migrate`] when a migration fails (it is rolled back) or an
    /// applied migration's file has changed.
    pub async fn migrate(&self) -> Result<(), PgError> {
        let Some(owner) = &self.owner else {
            let mut conn = self.pool.acquire().await.map_err(PgError::Connect)?;
            return self
                .telemetry
                .observe("migrations.apply", apply_migrations(&mut conn))
                .await
                .map_err(PgError::Migrate);
        };
        let mut conn = PgConnection::connect_with(owner).await.map_err(PgError::Connect)?;
        let applied = self
            .telemetry
            .observe("migrations.apply", apply_migrations(&mut conn))
            .await;
        let _ = conn.close().await;
        applied.map_err(PgError::Migrate)
    }

    /// Every migration this build knows and every one the database recorded,
    /// by version, with its state. Reads only: nothing is created.
    ///
    /// # Errors
    /// [`PgError::Query`].
    pub async fn migration_status(&self) -> Result<Vec<MigrationStatus>, PgError> {
        // As the owner when known: before migration 0013 the app role may not exist.
        let recorded = match &self.owner {
            Some(owner) => {
                let mut conn = PgConnection::connect_with(owner).await.map_err(PgError::Connect)?;
                let recorded = self
                    .telemetry
                    .observe("migrations.status", recorded_migrations(&mut conn))
                    .await;
                let _ = conn.close().await;
                recorded
            }
            None => {
                let mut conn = self.pool.acquire().await.map_err(PgError::Query)?;
                self.telemetry
                    .observe("migrations.status", recorded_migrations(&mut conn))
                    .await
            }
        }
        .map_err(PgError::Query)?;
        Ok(merge_status(recorded))
    }

    /// Closes every connection, waiting for borrowed ones to come back (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDatabase")
            .field("size", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

/// Where one migration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, and its file is unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but its file changed since: the migrator refuses to run.
    Modified,
    /// Recorded as failed (a non-transactional migration broke half-way).
    Failed,
    /// Applied by a newer build: this build does not know it.
    Unknown,
}

impl MigrationState {
    /// The state as the CLI prints it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Pending => "pending",
            Self::Modified => "modified",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MigrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `platform migrate status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The version (the file's number).
    pub version: i64,
    /// The file's description (`identity`).
    pub description: String,
    /// Where it stands.
    pub state: MigrationState,
    /// When it was applied.
    pub installed_on: Option<DateTime<Utc>>,
}

/// Runs the migrator on `conn`. Through `run_direct`, which sqlx keeps for
/// this: `run`'s future is generic over `Acquire`, and rustc cannot prove it
/// `Send` for every lifetime once it is awaited in another async fn (callers
/// spawned on tokio then fail to compile).
async fn apply_migrations(conn: &mut PgConnection) -> Result<(), sqlx::migrate::MigrateError> {
    platform_migrations::migrator().run_direct(None, conn, false).await
}

/// A row of sqlx's bookkeeping table.
#[derive(sqlx::FromRow)]
struct Recorded {
    version: i64,
    description: String,
    installed_on: DateTime<Utc>,
    success: bool,
    checksum: Vec<u8>,
}

async fn recorded_migrations(conn: &mut PgConnection) -> Result<Vec<Recorded>, sqlx::Error> {
    // `to_regclass` resolves through search_path, as the migrator does, and
    // is NULL before the first migration: status must not create the table.
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&mut *conn)
        .await?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "SELECT version, description, installed_on, success, checksum \
         FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(conn)
    .await
}

fn merge_status(recorded: Vec<Recorded>) -> Vec<MigrationStatus> {
    let mut recorded: BTreeMap<i64, Recorded> = recorded.into_iter().map(|r| (r.version, r)).collect();
    let mut status: Vec<MigrationStatus> = platform_migrations::migrator()
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|migration| {
            let row = recorded.remove(&migration.version);
            let state = match &row {
                None => MigrationState::Pending,
                Some(r) if !r.success => MigrationState::Failed,
                Some(r) if r.checksum.as_slice() != &*migration.checksum => MigrationState::Modified,
                Some(_) => MigrationState::Applied,
            };
            MigrationStatus {
                version: migration.version,
                description: migration.description.to_string(),
                state,
                installed_on: row.map(|r| r.installed_on),
            }
        })
        .collect();
    status.extend(recorded.into_values().map(|r| MigrationStatus {
        version: r.version,
        description: r.description,
        state: MigrationState::Unknown,
        installed_on: Some(r.installed_on),
    }));
    status.sort_by_key(|s| s.version);
    status
}
