//! Real infrastructure: PostgreSQL for the persistent ports, Redis for the
//! cache. Built before the container (shaku construction is synchronous),
//! then handed to it as overrides.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use platform_adapter_memory::MemoryCache;
use platform_adapter_postgres::{
    PgDatabase, PgOutbox, PgPostRepository, PgRefreshTokenStore, PgRoleRepository, PgSettings, PgUnitOfWork,
    PgUserRepository, PgVerificationTokenStore,
};
use platform_adapter_redis::{RedisCache, RedisSettings};
use platform_adapter_telemetry::OtelMetrics;
use platform_core::cache::{FallbackCache, FallbackSettings};
use platform_ports::BoxError;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::blog::PostRepository;
use platform_ports::events::Outbox;
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::jobs::CronJob;
use platform_ports::metrics::Metrics;
use platform_ports::persistence::UnitOfWork;
use shaku::ModuleBuilder;

use crate::config::Settings;
use crate::container::{CronEntry, PlatformModule};
use crate::shared::Shared;

/// The pool settings the configuration describes.
pub fn pg_settings(settings: &Settings) -> PgSettings {
    let d = &settings.database;
    PgSettings {
        max_connections: d.max_connections,
        min_connections: d.max_idle_connections,
        acquire_timeout: d.connect_timeout,
        max_lifetime: d.max_lifetime,
        idle_timeout: d.idle_timeout,
        application_name: d.application_name.clone(),
        ..PgSettings::new(d.dsn.clone())
    }
}

/// Connects (and migrates when `database.migrate_on_start`).
pub(crate) async fn postgres(settings: &Settings, metrics: Arc<OtelMetrics>) -> anyhow::Result<PgDatabase> {
    let metrics: Arc<dyn Metrics> = Arc::new(Shared(metrics));
    let db = PgDatabase::connect(&pg_settings(settings), Some(metrics))
        .await
        .context("database.dsn: cannot connect to PostgreSQL")?;
    if settings.database.migrate_on_start {
        db.migrate().await.context("database: migrations failed")?;
        tracing::info!("database migrations applied");
    }
    Ok(db)
}

/// Every persistence port (but the audit store, which the batched writer
/// wraps) served by PostgreSQL.
pub(crate) fn override_postgres(
    builder: ModuleBuilder<PlatformModule>,
    db: &PgDatabase,
) -> ModuleBuilder<PlatformModule> {
    builder
        .with_component_override::<dyn UnitOfWork>(Box::new(PgUnitOfWork::new(db.clone())))
        .with_component_override::<dyn UserRepository>(Box::new(PgUserRepository::new(db.clone())))
        .with_component_override::<dyn RoleRepository>(Box::new(PgRoleRepository::new(db.clone())))
        .with_component_override::<dyn RefreshTokenStore>(Box::new(PgRefreshTokenStore::new(db.clone())))
        .with_component_override::<dyn VerificationTokenStore>(Box::new(PgVerificationTokenStore::new(db.clone())))
        .with_component_override::<dyn PostRepository>(Box::new(PgPostRepository::new(db.clone())))
        .with_component_override::<dyn Outbox>(Box::new(PgOutbox::new(db.clone())))
}

/// Published outbox rows are kept a week (for inspection), then purged hourly.
struct PurgeSentOutbox(PgOutbox);

#[async_trait]
impl CronJob for PurgeSentOutbox {
    async fn run(&self) -> Result<(), BoxError> {
        let before = chrono::Utc::now() - chrono::Duration::days(7);
        let purged = self.0.purge_sent(before).await?;
        tracing::info!(purged, "purged published outbox rows");
        Ok(())
    }
}

pub(crate) fn outbox_purge(db: &PgDatabase) -> CronEntry {
    (
        "outbox-purge",
        "0 17 * * * *",
        Arc::new(PurgeSentOutbox(PgOutbox::new(db.clone()))),
    )
}

/// The Redis cache, with a fresh in-memory cache standing in during each outage.
pub(crate) fn redis(settings: &Settings, metrics: Arc<OtelMetrics>) -> anyhow::Result<FallbackCache> {
    let r = &settings.redis;
    let redis_settings = RedisSettings {
        url: r.url.clone(),
        pool_size: usize::try_from(r.pool_size).unwrap_or(16),
        command_timeout: r.command_timeout,
    };
    let redis = RedisCache::connect(&redis_settings).map_err(|e| anyhow::anyhow!("redis.url: {e}"))?;
    let fallback = FallbackSettings {
        primary: redis_settings.display_url(),
        retry_interval: r.retry_interval.max(Duration::from_millis(100)),
    };
    let cache = FallbackCache::new(Arc::new(redis), || Arc::new(MemoryCache::new()), fallback);
    Ok(cache.with_metrics(Arc::new(Shared(metrics))))
}
