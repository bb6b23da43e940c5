//! A PostgreSQL schema per test, dropped afterwards even when the test fails.
//!
//! DSN: `PLATFORM_TEST_DATABASE_URL`, else `postgres://postgres@127.0.0.1:5432/test`.
//! When the server cannot be reached, a test prints a loud `SKIPPED` line and
//! passes, unless `CI=true`, where it fails: CI must never skip silently.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "test support: every test binary (and the benchmark) uses a different part of it, and a failed unwrap is a failed test"
)]

pub mod metrics;
pub mod proxy;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_adapter_postgres::{APP_ROLE, PgDatabase};
use platform_ports::metrics::Metrics;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// Where the tests look for PostgreSQL when the environment does not say.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Schemas of crashed test runs older than this are dropped at first use.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The server's DSN for this run.
pub fn database_url() -> String {
    std::env::var("PLATFORM_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// Whether the server answered (once per process), after sweeping stale schemas.
static SERVER: OnceCell<Result<(), String>> = OnceCell::const_new();

async fn server_ready(url: &str) -> Result<(), String> {
    SERVER
        .get_or_init(|| async {
            let connect = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url));
            let mut conn = match connect.await {
                Ok(Ok(conn)) => conn,
                Ok(Err(err)) => return Err(err.to_string()),
                Err(_) => return Err("no answer within 5 s".to_owned()),
            };
            if let Err(err) = sweep_stale_schemas(&mut conn).await {
                eprintln!("warning: could not sweep stale test schemas: {err}");
            }
            let _ = conn.close().await;
            Ok(())
        })
        .await
        .clone()
}

/// `None` (after saying so loudly) when PostgreSQL is unreachable outside CI.
///
/// # Panics
/// When PostgreSQL is unreachable and `CI=true`.
pub async fn require_server() -> Option<String> {
    let url = database_url();
    match server_ready(&url).await {
        Ok(()) => Some(url),
        Err(err) => {
            let shown = redact(&url);
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("PostgreSQL not reachable at {shown} and CI=true: {err}");
            }
            // Straight to the stream: the test harness hides `eprintln!` of
            // passing tests, and a skip must never go unnoticed.
            let _ = writeln!(
                std::io::stderr(),
                "*** SKIPPED: PostgreSQL not reachable at {shown} ({err}); \
                 set PLATFORM_TEST_DATABASE_URL or start the server ***"
            );
            None
        }
    }
}

/// The DSN without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// A new test schema's name, `t_<uuid v7>`: the name carries its creation time.
pub fn schema_name() -> String {
    format!("t_{}", Uuid::now_v7().simple())
}

/// When a test schema was created, from its name.
pub fn created_at(schema: &str) -> Option<Duration> {
    let uuid = Uuid::parse_str(schema.strip_prefix("t_")?).ok()?;
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    Some(Duration::new(secs, nanos))
}

async fn sweep_stale_schemas(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let schemas: Vec<String> = sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%'")
        .fetch_all(&mut *conn)
        .await?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    for schema in schemas {
        if created_at(&schema).is_some_and(|at| now.saturating_sub(at) > STALE_AFTER) {
            sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A fresh schema with its own pools; dropped (with everything in it) on `Drop`.
pub struct TestSchema {
    /// The database over the schema as the platform sees it: its connections
    /// act as `platform_app`, so row-level security binds them; migrations
    /// run as the owner. Migrated unless made with [`TestSchema::empty`].
    pub db: PgDatabase,
    /// The same schema as the test user (a superuser, which RLS never
    /// binds): for the raw SQL a test sets up, inspects or tampers with.
    pub owner: PgDatabase,
    // Declared after `db`, so the pool is gone before the schema is dropped.
    guard: SchemaGuard,
}

impl TestSchema {
    /// A migrated schema, or `None` when the test must skip.
    pub async fn create() -> Option<Self> {
        Self::create_with(None).await
    }

    /// A migrated schema whose database reports to `metrics`.
    pub async fn create_with(metrics: Option<Arc<dyn Metrics>>) -> Option<Self> {
        let schema = Self::empty(metrics).await?;
        schema.db.migrate().await.expect("migrations apply");
        Some(schema)
    }

    /// A schema with no table at all (migrations not run).
    pub async fn empty(metrics: Option<Arc<dyn Metrics>>) -> Option<Self> {
        let url = require_server().await?;
        let name = schema_name();
        let mut admin = PgConnection::connect(&url).await.expect("admin connection");
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        admin.close().await.expect("close admin connection");
        // From here on, the guard removes the schema whatever happens next.
        let guard = SchemaGuard { name, url };
        let db = PgDatabase::from_pool(guard.app_pool(8), metrics).with_owner(options(&guard.url, &guard.name));
        let owner = PgDatabase::from_pool(guard.pool(4).await, None);
        Some(Self { db, owner, guard })
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.guard.name
    }

    /// Another pool on the same schema, as the owner.
    pub async fn pool(&self, max_connections: u32) -> PgPool {
        self.guard.pool(max_connections).await
    }

    /// Another pool on the same schema acting as `platform_app` (a second
    /// platform instance).
    pub fn app_pool(&self, max_connections: u32) -> PgPool {
        self.guard.app_pool(max_connections)
    }
}

/// Drops its schema when dropped.
struct SchemaGuard {
    name: String,
    url: String,
}

impl SchemaGuard {
    async fn pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options(&self.url, &self.name))
            .await
            .expect("test pool")
    }

    /// Connects on first use: on a new cluster, `platform_app` exists only
    /// once the first migration ran.
    fn app_pool(&self, max_connections: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options(&self.url, &self.name).options([("role", APP_ROLE)]))
    }
}

/// Connections that see only `schema`, named after it so cleanup can find them.
fn options(url: &str, schema: &str) -> PgConnectOptions {
    let options: PgConnectOptions = url.parse().expect("valid test DSN");
    options.options([("search_path", schema)]).application_name(schema)
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Its own thread and runtime: Drop may run inside the test's runtime
        // (which cannot block on itself) or while a failed test unwinds.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(drop_schema(&url, &name)).map_err(|e| e.to_string())
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: test schema {} was not dropped: {err}", self.name),
            Err(_) => eprintln!("warning: dropping test schema {} panicked", self.name),
        }
    }
}

async fn drop_schema(url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    // A failed test may leave a transaction open on its pool; ending those
    // sessions releases their locks so DROP does not wait for them.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(name)
    .execute(&mut conn)
    .await?;
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")))
        .execute(&mut conn)
        .await?;
    conn.close().await
}
