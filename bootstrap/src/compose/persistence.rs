//! Persistence: the unit of work, every repository, the outbox and the
//! audit store (`database.driver`).

use std::sync::Arc;

use anyhow::Context as _;
use platform_adapter_memory::{
    MemoryApiKeyRepository, MemoryAuditStore, MemoryAuthorStats, MemoryFileRepository, MemoryOutbox,
    MemoryPostRepository, MemoryProcessedEvents, MemoryRefreshTokenStore, MemoryRoleRepository, MemoryStore,
    MemoryUnitOfWork, MemoryUserRepository, MemoryVerificationTokenStore, MemoryWebhookRepository,
};
use platform_adapter_postgres::{
    PgApiKeyRepository, PgAuditStore, PgAuthorStats, PgDatabase, PgFileRepository, PgHealthChecker, PgOutbox,
    PgPostRepository, PgProcessedEvents, PgRefreshTokenStore, PgRoleRepository, PgSettings, PgUnitOfWork,
    PgUserRepository, PgVerificationTokenStore, PgWebhookRepository,
};
use platform_core::audit::{AuditWriterSettings, BatchedAuditWriter};
use platform_ports::audit::AuditStore;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::blog::{AuthorStats, PostRepository};
use platform_ports::events::{Outbox, ProcessedEvents};
use platform_ports::files::FileRepository;
use platform_ports::identity::{ApiKeyRepository, RoleRepository, UserRepository};
use platform_ports::metrics::Metrics;
use platform_ports::persistence::UnitOfWork;
use platform_ports::webhooks::WebhookRepository;

use super::{Built, Parts, Purpose, label_of, serve};
use crate::config::{DatabaseDriver, Settings};

/// The persistence ports.
pub struct Persistence {
    /// Opens units of work.
    pub uow: Box<dyn UnitOfWork>,
    /// Users.
    pub users: Box<dyn UserRepository>,
    /// Roles and assignments.
    pub roles: Box<dyn RoleRepository>,
    /// Refresh tokens.
    pub refresh_tokens: Box<dyn RefreshTokenStore>,
    /// Verification and reset tokens.
    pub verification_tokens: Box<dyn VerificationTokenStore>,
    /// The audit log, behind the batched writer.
    pub audit: Box<dyn AuditStore>,
    /// Blog posts.
    pub posts: Box<dyn PostRepository>,
    /// The transactional outbox.
    pub outbox: Box<dyn Outbox>,
    /// Which events each subscriber already handled (idempotent consumers).
    pub processed: Box<dyn ProcessedEvents>,
    /// Published posts per author (the blog's example subscriber).
    pub author_stats: Box<dyn AuthorStats>,
    /// API keys, by hash.
    pub api_keys: Box<dyn ApiKeyRepository>,
    /// Webhook subscriptions and their deliveries.
    pub webhooks: Box<dyn WebhookRepository>,
    /// Files' metadata.
    pub files: Box<dyn FileRepository>,
}

/// Builds the configured persistence: in memory, or on PostgreSQL (connected,
/// and migrated when `database.migrate_on_start` and serving).
///
/// # Errors
/// When PostgreSQL cannot be reached or migrated; the message names `database.dsn`.
pub async fn build(
    settings: &Settings,
    metrics: &Arc<dyn Metrics>,
    purpose: Purpose,
) -> anyhow::Result<Built<Persistence>> {
    let mut parts = Parts::default();
    let ports = match settings.database.driver {
        DatabaseDriver::Memory => {
            let store = Arc::new(MemoryStore::default());
            Persistence {
                uow: serve!(parts, UnitOfWork, MemoryUnitOfWork::new(store.clone())),
                users: serve!(parts, UserRepository, MemoryUserRepository::new(store.clone())),
                roles: serve!(parts, RoleRepository, MemoryRoleRepository::new(store.clone())),
                refresh_tokens: serve!(parts, RefreshTokenStore, MemoryRefreshTokenStore::new(store.clone())),
                verification_tokens: serve!(
                    parts,
                    VerificationTokenStore,
                    MemoryVerificationTokenStore::new(store.clone())
                ),
                audit: batched(&mut parts, MemoryAuditStore::new(store.clone())),
                posts: serve!(parts, PostRepository, MemoryPostRepository::new(store.clone())),
                files: serve!(parts, FileRepository, MemoryFileRepository::new(store.clone())),
                outbox: serve!(parts, Outbox, MemoryOutbox::new(store.clone())),
                processed: serve!(parts, ProcessedEvents, MemoryProcessedEvents::new(store.clone())),
                author_stats: serve!(parts, AuthorStats, MemoryAuthorStats::new(store.clone())),
                api_keys: serve!(parts, ApiKeyRepository, MemoryApiKeyRepository::new(store.clone())),
                webhooks: serve!(parts, WebhookRepository, MemoryWebhookRepository::new(store)),
            }
        }
        DatabaseDriver::Postgres => {
            let db = postgres(settings, metrics.clone(), purpose).await?;
            let (pool, base) = (db.clone(), pg_settings(settings));
            parts.rotation(
                "database.dsn",
                Arc::new(move |dsn| {
                    let next = PgSettings {
                        dsn: dsn.clone(),
                        ..base.clone()
                    };
                    pool.rotate_dsn(&next)
                        .context("database.dsn: the new DSN is not usable")
                }),
            );
            parts.check(
                "postgres",
                Arc::new(PgHealthChecker::new(db.clone(), settings.health.check_timeout)),
            );
            Persistence {
                uow: serve!(parts, UnitOfWork, PgUnitOfWork::new(db.clone())),
                users: serve!(parts, UserRepository, PgUserRepository::new(db.clone())),
                roles: serve!(parts, RoleRepository, PgRoleRepository::new(db.clone())),
                refresh_tokens: serve!(parts, RefreshTokenStore, PgRefreshTokenStore::new(db.clone())),
                verification_tokens: serve!(parts, VerificationTokenStore, PgVerificationTokenStore::new(db.clone())),
                audit: batched(&mut parts, PgAuditStore::new(db.clone())),
                posts: serve!(parts, PostRepository, PgPostRepository::new(db.clone())),
                files: serve!(parts, FileRepository, PgFileRepository::new(db.clone())),
                outbox: serve!(parts, Outbox, PgOutbox::new(db.clone())),
                processed: serve!(parts, ProcessedEvents, PgProcessedEvents::new(db.clone())),
                author_stats: serve!(parts, AuthorStats, PgAuthorStats::new(db.clone())),
                api_keys: serve!(parts, ApiKeyRepository, PgApiKeyRepository::new(db.clone())),
                webhooks: serve!(parts, WebhookRepository, PgWebhookRepository::new(db)),
            }
        }
    };
    Ok(Built { ports, parts })
}

/// Audit entries recorded outside a unit of work are queued and written in
/// batches, whatever the store; the writer flushes when it stops.
fn batched(parts: &mut Parts, store: impl AuditStore + 'static) -> Box<dyn AuditStore> {
    let label = format!("platform_core::BatchedAuditWriter({})", label_of(&store));
    let writer = BatchedAuditWriter::new(Arc::new(store), AuditWriterSettings::default());
    parts.service(Arc::new(writer.clone()));
    serve!(parts, AuditStore, writer, label)
}

/// The pool settings the configuration describes.
#[must_use]
pub fn pg_settings(settings: &Settings) -> PgSettings {
    let d = &settings.database;
    PgSettings {
        max_connections: d.max_connections,
        min_connections: d.max_idle_connections,
        acquire_timeout: d.connect_timeout,
        max_lifetime: d.max_lifetime,
        idle_timeout: d.idle_timeout,
        application_name: d.application_name.clone(),
        app_role: d.app_role.clone(),
        migrations_dsn: (!d.migrations_dsn.is_empty()).then(|| d.migrations_dsn.clone()),
        ..PgSettings::new(d.dsn.clone())
    }
}

/// Migrates when serving with `database.migrate_on_start` (as the owner,
/// first: on a new cluster the migrations create `database.app_role`), then
/// connects as the app role.
async fn postgres(settings: &Settings, metrics: Arc<dyn Metrics>, purpose: Purpose) -> anyhow::Result<PgDatabase> {
    let pg = pg_settings(settings);
    if purpose == Purpose::Serve && settings.database.migrate_on_start {
        PgDatabase::migrate_as_owner(&pg)
            .await
            .context("database: migrations failed (as the owner: database.migrations_dsn, else database.dsn)")?;
        tracing::info!("database migrations applied");
    }
    PgDatabase::connect(&pg, Some(metrics)).await.with_context(|| {
        format!(
            "database.dsn: cannot connect to PostgreSQL as database.app_role {:?}",
            settings.database.app_role
        )
    })
}
