//! The shaku module: every port and the adapter serving it.
//!
//! Components default to the in-memory / embedded adapters; [`build`] swaps
//! each for the one the configuration names, logs the choice once, and hands
//! back the background services for the lifecycle. Tests get the builder
//! from [`builder`] and override any port with a mock before `build()`.

use std::sync::Arc;

use anyhow::bail;
use platform_adapter_crypto::{Argon2idHasher, HmacOpaqueTokens, JwtCodec};
use platform_adapter_localfs::{FileMailer, LocalBlobStore};
use platform_adapter_memory::{
    InProcessEventBus, MemoryAuditStore, MemoryCache, MemoryJobQueue, MemoryOutbox, MemoryPostRepository,
    MemoryRefreshTokenStore, MemoryRoleRepository, MemoryScheduler, MemoryStore, MemoryUnitOfWork,
    MemoryUserRepository, MemoryVerificationTokenStore,
};
use platform_adapter_postgres::{PgAuditStore, PgHealthChecker};
use platform_adapter_telemetry::OtelMetrics;
use platform_core::audit::{AuditService, AuditWriterSettings, BatchedAuditWriter};
use platform_core::auth::AuthService;
use platform_core::authz::{CachedPermissionResolver, RbacAuthorizer};
use platform_core::blog::BlogManager;
use platform_core::cache::NamespacedCache;
use platform_core::clock::{SystemClock, UuidV7Generator};
use platform_core::errors::ErrorBus;
use platform_core::health::CompositeHealthRegistry;
use platform_core::identity::{RoleManager, UserManager};
use platform_core::notify::TemplateNotifier;
use platform_core::ratelimit::CacheRateLimiter;
use platform_ports::audit::AuditStore;
use platform_ports::cache::Cache;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::events::EventBus;
use platform_ports::health::HealthChecker;
use platform_ports::jobs::CronJob;
use platform_ports::jobs::{JobQueue, Scheduler};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::Metrics;
use shaku::{ModuleBuilder, module};

use crate::config::{BlobDriver, CacheDriver, DatabaseDriver, EventBusDriver, MailDriver, SchedulerDriver, Settings};
use crate::shared::Shared;

// Every port of the platform, resolved by interface.
module! {
    pub PlatformModule {
        components = [
            MemoryUnitOfWork,
            MemoryUserRepository,
            MemoryRoleRepository,
            MemoryRefreshTokenStore,
            MemoryVerificationTokenStore,
            MemoryAuditStore,
            MemoryPostRepository,
            MemoryOutbox,
            MemoryCache,
            InProcessEventBus,
            MemoryJobQueue,
            MemoryScheduler,
            LocalBlobStore,
            FileMailer,
            OtelMetrics,
            CompositeHealthRegistry,
            ErrorBus,
            SystemClock,
            UuidV7Generator,
            Argon2idHasher,
            JwtCodec,
            HmacOpaqueTokens,
            UserManager,
            RoleManager,
            AuditService,
            TemplateNotifier,
            AuthService,
            CachedPermissionResolver,
            RbacAuthorizer,
            CacheRateLimiter,
            BlogManager,
        ],
        providers = []
    }
}

/// Which adapter serves each port, for the start-up log and `config check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterChoice {
    /// The port.
    pub port: &'static str,
    /// The adapter.
    pub adapter: &'static str,
}

/// What [`builder`] produces besides the module builder.
pub struct Wiring {
    /// The module builder, ready for test overrides.
    pub builder: ModuleBuilder<PlatformModule>,
    /// Background services, in start order.
    pub services: Vec<Arc<dyn BackgroundService>>,
    /// The error bus (to register sinks and counters before start).
    pub error_bus: Arc<ErrorBus>,
    /// The adapter serving each port.
    pub choices: Vec<AdapterChoice>,
    /// Health checks of the configured infrastructure.
    pub checkers: Vec<(&'static str, Arc<dyn HealthChecker>)>,
    /// Maintenance jobs to schedule.
    pub cron: Vec<CronEntry>,
}

/// A cron schedule: name, spec, job.
pub type CronEntry = (&'static str, &'static str, Arc<dyn CronJob>);

fn choice(port: &'static str, adapter: &'static str) -> AdapterChoice {
    AdapterChoice { port, adapter }
}

/// The adapter choices the configuration implies (and whether they exist yet).
///
/// # Errors
/// When a configured driver has no adapter in this build; the message names the key.
pub fn choices(settings: &Settings) -> anyhow::Result<Vec<AdapterChoice>> {
    let mut out = Vec::new();
    match settings.database.driver {
        DatabaseDriver::Memory => {
            for port in [
                "UnitOfWork",
                "UserRepository",
                "RoleRepository",
                "RefreshTokenStore",
                "VerificationTokenStore",
                "AuditStore",
                "PostRepository",
                "Outbox",
            ] {
                out.push(choice(port, "memory"));
            }
        }
        DatabaseDriver::Postgres => {
            for port in [
                "UnitOfWork",
                "UserRepository",
                "RoleRepository",
                "RefreshTokenStore",
                "VerificationTokenStore",
                "AuditStore",
                "PostRepository",
                "Outbox",
            ] {
                out.push(choice(port, "postgres"));
            }
        }
    }
    out.push(match settings.cache.driver {
        CacheDriver::Memory => choice("Cache", "memory"),
        CacheDriver::Redis => choice("Cache", "redis (memory fallback)"),
    });
    out.push(match settings.event_bus.driver {
        EventBusDriver::Inprocess => choice("EventBus", "in-process"),
        EventBusDriver::Kafka => {
            bail!("event_bus.driver: `kafka` has no adapter in this build yet; use `inprocess`")
        }
    });
    match settings.scheduler.driver {
        SchedulerDriver::Memory => {
            out.push(choice("JobQueue", "memory"));
            out.push(choice("Scheduler", "memory"));
        }
        SchedulerDriver::Redis => {
            bail!("scheduler.driver: `redis` has no adapter in this build yet; use `memory`")
        }
    }
    out.push(match settings.blob.driver {
        BlobDriver::Local => choice("BlobStore", "local filesystem"),
        BlobDriver::S3 => bail!("blob.driver: `s3` has no adapter in this build yet; use `local`"),
    });
    out.push(match settings.mail.driver {
        MailDriver::File => choice("Mailer", "file (.eml)"),
        MailDriver::Smtp => {
            bail!("mail.driver: `smtp` has no adapter in this build yet; use `file`")
        }
    });
    out.push(choice("Metrics", "OpenTelemetry → Prometheus"));
    out.push(choice("HealthRegistry", "composite"));
    out.push(choice("ErrorPublisher", "error bus (log sink)"));
    out.push(choice("PasswordHasher", "argon2id"));
    out.push(choice(
        "TokenCodec",
        match settings.auth.jwt.algorithm {
            crate::config::JwtAlgorithm::HS256 => "JWT HS256",
            crate::config::JwtAlgorithm::RS256 => "JWT RS256",
        },
    ));
    out.push(choice("Clock", "system"));
    out.push(choice("IdGenerator", "uuid v7"));
    Ok(out)
}

/// Builds the module builder for `settings`, with every component chosen:
/// connects PostgreSQL and Redis when configured (and migrates when
/// `database.migrate_on_start`).
///
/// # Errors
/// When a configured driver has no adapter in this build, a key cannot be
/// read, or PostgreSQL cannot be reached or migrated.
pub async fn builder(settings: &Settings) -> anyhow::Result<Wiring> {
    let choices = choices(settings)?;
    let catalog = crate::wiring::catalog()?;
    let store = Arc::new(MemoryStore::default());

    let metrics = Arc::new(OtelMetrics::default());
    let error_bus = Arc::new(ErrorBus::new(settings.error_bus.capacity));
    let bus = Arc::new(InProcessEventBus::new(crate::wiring::bus_settings(settings)));
    let jobs = Arc::new(MemoryJobQueue::new(crate::wiring::job_settings(settings)));
    let scheduler = Arc::new(MemoryScheduler::new());
    let mut checkers: Vec<(&'static str, Arc<dyn HealthChecker>)> = Vec::new();
    let mut cron: Vec<CronEntry> = Vec::new();

    let mut builder = PlatformModule::builder()
        .with_component_parameters::<MemoryUnitOfWork>(MemoryUnitOfWork::parameters(store.clone()))
        .with_component_parameters::<MemoryUserRepository>(MemoryUserRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryRoleRepository>(MemoryRoleRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryRefreshTokenStore>(MemoryRefreshTokenStore::parameters(store.clone()))
        .with_component_parameters::<MemoryVerificationTokenStore>(MemoryVerificationTokenStore::parameters(
            store.clone(),
        ))
        .with_component_parameters::<MemoryAuditStore>(MemoryAuditStore::parameters(store.clone()))
        .with_component_parameters::<MemoryPostRepository>(MemoryPostRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryOutbox>(MemoryOutbox::parameters(store.clone()))
        .with_component_parameters::<LocalBlobStore>(crate::wiring::blob_params(settings))
        .with_component_parameters::<FileMailer>(crate::wiring::mail_params(settings))
        .with_component_parameters::<CompositeHealthRegistry>(crate::wiring::health_params(settings))
        .with_component_parameters::<Argon2idHasher>(crate::wiring::hasher_params(settings))
        .with_component_parameters::<JwtCodec>(crate::wiring::jwt_params(settings)?)
        .with_component_parameters::<HmacOpaqueTokens>(crate::wiring::opaque_params(settings)?)
        .with_component_parameters::<UserManager>(crate::wiring::user_manager_params(settings, &catalog))
        .with_component_parameters::<RoleManager>(crate::wiring::role_manager_params(&catalog))
        .with_component_parameters::<AuthService>(crate::wiring::auth_params(settings))
        .with_component_parameters::<CachedPermissionResolver>(crate::wiring::permission_cache_params(settings))
        .with_component_parameters::<CacheRateLimiter>(crate::wiring::rate_limit_params(settings))
        .with_component_override::<dyn Metrics>(Box::new(Shared(metrics.clone())))
        .with_component_override::<dyn ErrorPublisher>(Box::new(Shared(error_bus.clone())))
        .with_component_override::<dyn EventBus>(Box::new(Shared(bus.clone())))
        .with_component_override::<dyn JobQueue>(Box::new(Shared(jobs.clone())))
        .with_component_override::<dyn Scheduler>(Box::new(Shared(scheduler.clone())));

    // Persistence: the audit store is wrapped by the batched writer either way.
    let audit_inner: Arc<dyn AuditStore> = match settings.database.driver {
        DatabaseDriver::Memory => Arc::new(MemoryAuditStore::new(store.clone())),
        DatabaseDriver::Postgres => {
            let db = crate::infra::postgres(settings, metrics.clone()).await?;
            builder = crate::infra::override_postgres(builder, &db);
            checkers.push((
                "postgres",
                Arc::new(PgHealthChecker::new(db.clone(), settings.health.check_timeout)),
            ));
            cron.push(crate::infra::outbox_purge(&db));
            Arc::new(PgAuditStore::new(db))
        }
    };
    let audit_writer = Arc::new(BatchedAuditWriter::new(audit_inner, AuditWriterSettings::default()));
    builder = builder.with_component_override::<dyn AuditStore>(Box::new(Shared(audit_writer.clone())));

    if settings.cache.driver == CacheDriver::Redis || !settings.cache.namespace.is_empty() {
        let base: Arc<dyn Cache> = match settings.cache.driver {
            CacheDriver::Memory => Arc::new(MemoryCache::new()),
            CacheDriver::Redis => {
                let redis = crate::infra::redis(settings, metrics.clone())?;
                checkers.push(("redis", Arc::new(redis.health_checker())));
                Arc::new(redis)
            }
        };
        let cache: Box<dyn Cache> = if settings.cache.namespace.is_empty() {
            Box::new(Shared(base))
        } else {
            Box::new(NamespacedCache::new(base, &settings.cache.namespace))
        };
        builder = builder.with_component_override::<dyn Cache>(cache);
    }

    // Start order: the error bus first (everything reports to it), then the
    // event bus, then what produces work for it; stop runs in reverse, so the
    // audit writer flushes after the requests drained.
    let services: Vec<Arc<dyn BackgroundService>> = vec![error_bus.clone(), bus, jobs, scheduler, audit_writer];
    Ok(Wiring {
        builder,
        services,
        error_bus,
        choices,
        checkers,
        cron,
    })
}

/// Logs, once, which adapter serves each port.
pub fn log_choices(choices: &[AdapterChoice]) {
    for c in choices {
        tracing::info!(port = c.port, adapter = c.adapter, "adapter");
    }
}
