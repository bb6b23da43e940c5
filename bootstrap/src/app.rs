//! The assembled platform: container, lifecycle and HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use platform_adapter_http::{HttpServer, HttpSettings, OperationalDeps, build_router};
use platform_adapter_telemetry::{DiskSpaceChecker, MemoryUsageChecker};
use platform_application::{ExpiredTokenCleanup, OutboxRelay, RelaySettings};
use platform_core::errors::LogSink;
use platform_core::notify::{MAIL_TASK_TYPE, MailJobHandler};
use platform_ports::auth::Authenticator;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::health::HealthRegistry;
use platform_ports::identity::User;
use platform_ports::identity::UserService;
use platform_ports::jobs::{JobQueue, Scheduler};
use platform_ports::metrics::Metrics;
use platform_ports::model::{RequestContext, SecretString};
use shaku::{HasComponent, ModuleBuilder};

use crate::config::Settings;
use crate::container::{self, AdapterChoice, PlatformModule};
use crate::lifecycle::Lifecycle;

/// Changes the container before it is built (tests swap ports for mocks).
pub type Customize = Box<dyn FnOnce(ModuleBuilder<PlatformModule>) -> ModuleBuilder<PlatformModule> + Send>;

/// Extras for [`Platform::build_with`].
#[derive(Default)]
pub struct PlatformOptions {
    /// Applied to the module builder after the configured adapters.
    pub customize: Option<Customize>,
    /// Routes merged into the API (feature modules, test routes).
    pub routes: axum::Router,
}

/// A built platform, bound to its address, not yet serving.
pub struct Platform {
    settings: Settings,
    module: Arc<PlatformModule>,
    lifecycle: Lifecycle,
    server: HttpServer,
    router: axum::Router,
    choices: Vec<AdapterChoice>,
}

impl Platform {
    /// Builds the platform the configuration describes.
    ///
    /// # Errors
    /// When an adapter cannot be built or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, PlatformOptions::default()).await
    }

    /// Builds with container overrides and extra routes.
    ///
    /// # Errors
    /// When an adapter cannot be built or the address cannot be bound.
    pub async fn build_with(settings: Settings, options: PlatformOptions) -> anyhow::Result<Self> {
        let wiring = container::builder(&settings).await?;
        let builder = match options.customize {
            Some(customize) => customize(wiring.builder),
            None => wiring.builder,
        };
        let module = Arc::new(builder.build());
        container::log_choices(&wiring.choices);

        let metrics: Arc<dyn Metrics> = module.resolve();
        wiring.error_bus.add_sink(Arc::new(LogSink));
        wiring.error_bus.set_counter(Some(metrics.counter(
            "platform.errors",
            "Errors published to the error bus",
            "{error}",
        )));
        wiring.error_bus.set_dropped_counter(Some(metrics.counter(
            "platform.errors.dropped",
            "Error reports dropped because the error bus was full",
            "{error}",
        )));

        let health: Arc<dyn HealthRegistry> = module.resolve();
        let h = &settings.health;
        health.register(
            "disk",
            Arc::new(DiskSpaceChecker::new(
                h.disk_path.clone(),
                h.disk_min_free_mb * 1024 * 1024,
            )),
        );
        let max_rss = (h.memory_max_rss_mb > 0).then(|| h.memory_max_rss_mb * 1024 * 1024);
        health.register(
            "memory",
            Arc::new(MemoryUsageChecker::new(max_rss, h.memory_min_available_ratio)),
        );

        for (name, checker) in &wiring.checkers {
            health.register(name, checker.clone());
        }
        let scheduler: Arc<dyn Scheduler> = module.resolve();
        for (name, spec, job) in wiring.cron.iter().cloned().chain(maintenance_jobs(&module)) {
            scheduler
                .schedule(name, spec, job)
                .await
                .map_err(|e| anyhow::anyhow!("scheduling {name}: {e}"))?;
        }

        // Mail leaves through the job queue, so delivery is retried and off the request path.
        let jobs: Arc<dyn JobQueue> = module.resolve();
        jobs.register(MAIL_TASK_TYPE, Arc::new(MailJobHandler::new(module.resolve())))?;

        if !settings.admin.email.is_empty() {
            let users: Arc<dyn UserService> = module.resolve();
            let admin = users
                .ensure_admin(
                    &RequestContext::system("bootstrap"),
                    &settings.admin.email,
                    &settings.admin.password,
                )
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "admin.email: cannot create the bootstrap administrator: {}",
                        describe(&e)
                    )
                })?;
            tracing::info!(user_id = %admin.id, email = %admin.email, "bootstrap administrator ready");
        }

        let authenticator: Arc<dyn Authenticator> = module.resolve();
        for feature in crate::features::registry()?.modules() {
            tracing::info!(module = feature.name, routes = ?feature.routes, permissions = feature.permissions.len(), "feature module");
        }
        let api = crate::features::routes(&module).merge(options.routes);
        let http = http_settings(&settings);
        let deps = OperationalDeps {
            health,
            metrics,
            errors: module.resolve(),
            authenticator: Some(authenticator),
        };
        let router = build_router(&deps, &http, [api]);
        let server = HttpServer::bind(&http).await?;

        let mut lifecycle = Lifecycle::new();
        for service in wiring.services {
            lifecycle.add(service);
        }
        // Last to start, first to stop: its final round publishes what the
        // drained requests committed while the bus is still open.
        lifecycle.add(Arc::new(OutboxRelay::new(
            module.resolve(),
            module.resolve(),
            module.resolve(),
            RelaySettings::default(),
        )));
        Ok(Self {
            settings,
            module,
            lifecycle,
            server,
            router,
            choices: wiring.choices,
        })
    }

    /// The bound address (port 0 resolved).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The container, to resolve ports.
    #[must_use]
    pub fn module(&self) -> &Arc<PlatformModule> {
        &self.module
    }

    /// Which adapter serves each port.
    #[must_use]
    pub fn choices(&self) -> &[AdapterChoice] {
        &self.choices
    }

    /// Starts the background services, serves until `shutdown` resolves,
    /// drains in-flight requests (bounded by `server.shutdown_timeout`), then
    /// stops the services in reverse order.
    ///
    /// # Errors
    /// When a service fails to start or the server fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let timeout = self.settings.server.shutdown_timeout;
        self.lifecycle.start(timeout).await?;
        let served = self.server.serve(self.router, shutdown, timeout).await;
        match &served {
            Ok(true) => tracing::info!("drained in-flight requests"),
            Ok(false) => tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "shutdown timeout cut in-flight requests"
            ),
            Err(err) => tracing::error!(error = %err, "server failed"),
        }
        self.lifecycle.stop(timeout).await;
        tracing::info!("stopped");
        served.map(|_| ()).map_err(Into::into)
    }

    /// The error publisher, for code outside HTTP.
    #[must_use]
    pub fn errors(&self) -> Arc<dyn ErrorPublisher> {
        self.module.resolve()
    }
}

fn http_settings(settings: &Settings) -> HttpSettings {
    let s = &settings.server;
    HttpSettings {
        host: s.host.clone(),
        port: s.port,
        request_timeout: s.timeout,
        shutdown_timeout: s.shutdown_timeout,
        max_body_bytes: s.max_body_bytes,
    }
}

/// Resolves when SIGTERM or SIGINT (Ctrl-C) arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        () = term => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}

/// Creates (or completes) the administrator without serving: the CLI's
/// `platform admin create`. Meaningful with a persistent database.
///
/// # Errors
/// When the container cannot be built or the administrator cannot be created.
pub async fn create_admin(settings: &Settings, email: &str, password: &SecretString) -> anyhow::Result<User> {
    let module = container::builder(settings).await?.builder.build();
    let users: Arc<dyn UserService> = module.resolve();
    users
        .ensure_admin(&RequestContext::system("cli"), email, password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the administrator: {}", describe(&e)))
}

/// An identity error with its field errors spelled out (start-up and CLI messages).
fn describe(err: &platform_ports::identity::IdentityError) -> String {
    match err {
        platform_ports::identity::IdentityError::Validation(v) => v.to_string(),
        other => other.to_string(),
    }
}

/// The platform's own cron jobs (the seed's "cleanup expired tokens (daily)").
fn maintenance_jobs(module: &PlatformModule) -> Vec<container::CronEntry> {
    vec![(
        "expired-token-cleanup",
        "0 30 3 * * *",
        Arc::new(ExpiredTokenCleanup::new(module.resolve(), module.resolve())),
    )]
}

/// Applies the migrations (`platform migrate`).
///
/// # Errors
/// When PostgreSQL cannot be reached or a migration fails.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = platform_adapter_postgres::PgDatabase::connect(&crate::infra::pg_settings(settings), None).await?;
    db.migrate().await?;
    db.close().await;
    Ok(())
}

/// One line per migration (`platform migrate status`).
///
/// # Errors
/// When PostgreSQL cannot be reached.
pub async fn migration_status(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let db = platform_adapter_postgres::PgDatabase::connect(&crate::infra::pg_settings(settings), None).await?;
    let rows = db.migration_status().await?;
    db.close().await;
    Ok(rows
        .into_iter()
        .map(|m| {
            let when = m.installed_on.map(|t| t.to_rfc3339()).unwrap_or_default();
            format!(
                "{:>14}  {:<8}  {}  {}",
                m.version,
                m.state.as_str(),
                m.description,
                when
            )
        })
        .collect())
}
