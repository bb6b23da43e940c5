//! The assembled platform: container, lifecycle and HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use platform_adapter_http::{HttpServer, HttpSettings, OperationalDeps, build_router};
use platform_application::{OutboxRelay, RelaySettings};
use platform_ports::auth::Authenticator;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::health::HealthRegistry;
use platform_ports::identity::{IdentityError, User, UserService};
use platform_ports::metrics::Metrics;
use platform_ports::model::{RequestContext, SecretString};
use shaku::{HasComponent, ModuleBuilder};

use crate::compose::{self, Built, Parts, Purpose, Served};
use crate::config::{EventBusDriver, SchedulerDriver, Settings};
use crate::container::{self, PlatformModule};
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
    served: Vec<Served>,
}

/// The container the configuration describes, before test overrides, and
/// everything the families built besides their ports.
///
/// # Errors
/// When a family cannot build (naming its key) or the modules clash.
pub async fn container(
    settings: &Settings,
    purpose: Purpose,
) -> anyhow::Result<(ModuleBuilder<PlatformModule>, Parts)> {
    let mut assembly = compose::assemble(settings, purpose).await?;
    let parts = std::mem::take(&mut assembly.parts);
    Ok((container::feed(assembly, settings)?, parts))
}

/// Logs, once, which adapter serves each port.
pub fn log_served(served: &[Served]) {
    for s in served {
        tracing::info!(port = s.port, adapter = %s.adapter, "adapter");
    }
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
        Self::assemble(settings, options, Parts::default(), None).await
    }

    /// Builds with the secret source configuration loading used, so it is
    /// reported with the other adapters and its checks and services join theirs.
    ///
    /// # Errors
    /// When an adapter cannot be built or the address cannot be bound.
    pub async fn build_with_secrets(
        settings: Settings,
        secrets: Built<compose::secrets::SecretPort>,
        traces: Option<platform_adapter_telemetry::OtlpTracing>,
    ) -> anyhow::Result<Self> {
        let mut parts = secrets.parts;
        if let Some(traces) = traces {
            // First to start, last to stop: its stop flushes every span the
            // other services ended while stopping.
            parts.services.insert(0, Arc::new(traces));
        }
        Self::assemble(settings, PlatformOptions::default(), parts, Some(secrets.ports)).await
    }

    async fn assemble(
        settings: Settings,
        options: PlatformOptions,
        parts: Parts,
        stores: Option<compose::secrets::SecretStores>,
    ) -> anyhow::Result<Self> {
        let routes = options.routes;
        let core = Core::assemble(&settings, options.customize, parts, stores).await?;
        let module = core.module;
        let health: Arc<dyn HealthRegistry> = module.resolve();
        let metrics: Arc<dyn Metrics> = module.resolve();
        let authenticator: Arc<dyn Authenticator> = module.resolve();
        let api = crate::features::routes(&module).merge(routes);
        let http = http_settings(&settings);
        let deps = OperationalDeps {
            health,
            metrics,
            errors: module.resolve(),
            authenticator: Some(authenticator),
            api_keys: Some(module.resolve()),
            trace_context: compose::telemetry::trace_context(&settings),
        };
        let router = build_router(&deps, &http, [api]);
        let server = HttpServer::bind(&http).await?;
        Ok(Self {
            settings,
            module,
            lifecycle: core.lifecycle,
            server,
            router,
            served: core.served,
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

    /// Which adapter serves each port, as built.
    #[must_use]
    pub fn served(&self) -> &[Served] {
        &self.served
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
        self.lifecycle.stop(timeout + STOP_GRACE).await;
        tracing::info!("stopped");
        served.map(|_| ()).map_err(Into::into)
    }

    /// The error publisher, for code outside HTTP.
    #[must_use]
    pub fn errors(&self) -> Arc<dyn ErrorPublisher> {
        self.module.resolve()
    }
}

/// What a service gets to stop beyond `server.shutdown_timeout`: the job
/// workers let tasks in hand run for the whole shutdown timeout, then need
/// a few Redis round trips to give the unfinished ones back to their
/// queues. Cutting them at the timeout would leave those tasks to the
/// recoverer (nothing lost, but they wait for their lease to expire).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// What serving and `platform worker` share: the container with every
/// reaction registered, the background services in start order, and what
/// serves each port.
struct Core {
    module: Arc<PlatformModule>,
    lifecycle: Lifecycle,
    served: Vec<Served>,
}

impl Core {
    async fn assemble(
        settings: &Settings,
        customize: Option<Customize>,
        mut parts: Parts,
        stores: Option<compose::secrets::SecretStores>,
    ) -> anyhow::Result<Self> {
        let registry = crate::features::registry()?;
        let (builder, built) = container(settings, Purpose::Serve).await?;
        parts.extend(built);
        let interval = settings.secrets.refresh_interval;
        if let Some(stores) = stores.filter(|_| !interval.is_zero()) {
            parts.service(Arc::new(refresh(stores, interval, &parts).await?));
        }
        let builder = match customize {
            Some(customize) => customize(builder),
            None => builder,
        };
        let module = Arc::new(builder.build());
        log_served(&parts.served);

        let health: Arc<dyn HealthRegistry> = module.resolve();
        for (name, checker) in &parts.checks {
            health.register(name, checker.clone());
        }
        crate::features::register_reactions(&registry, &module).await?;

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

        let mut lifecycle = Lifecycle::new();
        for service in parts.services {
            lifecycle.add(service);
        }
        // Last to start, first to stop: its final round publishes what the
        // drained requests (or finished jobs) committed while the bus is
        // still open.
        let relay_metrics: Arc<dyn Metrics> = module.resolve();
        lifecycle.add(Arc::new(
            OutboxRelay::new(
                module.resolve(),
                module.resolve(),
                module.resolve(),
                relay_settings(settings),
            )
            .with_metrics(&*relay_metrics),
        ));
        Ok(Self {
            module,
            lifecycle,
            served: parts.served,
        })
    }
}

/// The platform without the HTTP server (`platform worker`): job workers,
/// cron and the other background services. Only meaningful with a shared
/// queue (`scheduler.driver: redis`).
pub struct Worker {
    settings: Settings,
    core: Core,
}

impl Worker {
    /// Builds the workers the configuration describes, whatever
    /// `scheduler.workers` says (it only decides whether `serve` runs them).
    ///
    /// # Errors
    /// When the queue is the in-memory one (nothing to share with the
    /// serving instances), or an adapter cannot be built.
    pub async fn build_with_secrets(
        mut settings: Settings,
        secrets: Built<compose::secrets::SecretPort>,
        traces: Option<platform_adapter_telemetry::OtlpTracing>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.scheduler.driver == SchedulerDriver::Redis,
            "scheduler.driver: `platform worker` needs a shared queue (redis); the in-memory queue is worked by `platform serve` itself"
        );
        settings.scheduler.workers = true;
        let mut parts = secrets.parts;
        if let Some(traces) = traces {
            parts.services.insert(0, Arc::new(traces));
        }
        let core = Core::assemble(&settings, None, parts, Some(secrets.ports)).await?;
        Ok(Self { settings, core })
    }

    /// Starts the background services, runs until `shutdown` resolves, then
    /// stops them in reverse order: the workers stop fetching, let tasks in
    /// hand finish for up to `server.shutdown_timeout` and give the rest back.
    ///
    /// # Errors
    /// When a service fails to start.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let timeout = self.settings.server.shutdown_timeout;
        self.core.lifecycle.start(timeout).await?;
        tracing::info!(services = ?self.core.lifecycle.names(), "worker running");
        shutdown.await;
        self.core.lifecycle.stop(timeout + STOP_GRACE).await;
        tracing::info!("stopped");
        Ok(())
    }

    /// Which adapter serves each port, as built.
    #[must_use]
    pub fn served(&self) -> &[Served] {
        &self.core.served
    }
}

/// The secret refresher, starting from what the stores hold now.
async fn refresh(
    stores: compose::secrets::SecretStores,
    interval: std::time::Duration,
    parts: &Parts,
) -> anyhow::Result<crate::rotation::SecretRefresh> {
    use platform_ports::secrets::SecretSource as _;
    let keys = crate::config::secret_keys();
    let first = stores
        .get_many(&keys)
        .await
        .map_err(|e| anyhow::anyhow!("secrets.source: {e}"))?;
    let live: Vec<&str> = parts.rotations.iter().map(|(key, _)| *key).collect();
    tracing::info!(
        interval_ms = interval.as_millis() as u64,
        live = %live.join(","),
        "secrets are re-read on an interval; other keys need a restart"
    );
    Ok(crate::rotation::SecretRefresh::new(
        stores,
        keys,
        first,
        interval,
        parts.rotations.clone(),
    ))
}

/// `outbox.relay.*`; a publish may take `kafka.publish_timeout` on Kafka.
fn relay_settings(settings: &Settings) -> RelaySettings {
    let r = &settings.outbox.relay;
    let publish_timeout = match settings.event_bus.driver {
        EventBusDriver::Kafka => settings.kafka.publish_timeout,
        // An in-process publish only waits for room in a subscriber's queue;
        // half the lease leaves the other half to start publishes in.
        EventBusDriver::Inprocess => r.lease / 2,
    };
    RelaySettings {
        batch_size: r.batch_size,
        lease: r.lease,
        publish_timeout,
        poll_interval: r.poll_interval,
        initial_backoff: r.initial_backoff,
        max_backoff: r.max_backoff,
        ..RelaySettings::default()
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
    let module = container(settings, Purpose::Serve).await?.0.build();
    let users: Arc<dyn UserService> = module.resolve();
    users
        .ensure_admin(&RequestContext::system("cli"), email, password)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the administrator: {}", describe(&e)))
}

/// Verifies the audit chain of `tenant`, or of every tenant with a chain
/// (`platform audit verify`). Builds the ports as `config check` does: it
/// reads and changes nothing else.
///
/// # Errors
/// When the ports cannot be built or the store cannot be read.
pub async fn verify_audit(
    settings: &Settings,
    tenant: Option<platform_ports::model::TenantId>,
) -> anyhow::Result<Vec<platform_ports::audit::ChainReport>> {
    let module = container(settings, Purpose::Check).await?.0.build();
    let auditor: Arc<dyn platform_ports::audit::Auditor> = module.resolve();
    let tenants = match tenant {
        Some(tenant) => vec![tenant],
        None => auditor.chained_tenants().await?,
    };
    let mut reports = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        reports.push(auditor.verify(tenant).await?);
    }
    Ok(reports)
}

/// An identity error with its field errors spelled out (start-up and CLI messages).
fn describe(err: &IdentityError) -> String {
    match err {
        IdentityError::Validation(v) => v.to_string(),
        other => other.to_string(),
    }
}

/// Applies the migrations (`platform migrate`).
///
/// # Errors
/// When PostgreSQL cannot be reached or a migration fails.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    platform_adapter_postgres::PgDatabase::migrate_as_owner(&compose::persistence::pg_settings(settings)).await?;
    Ok(())
}

/// One line per migration (`platform migrate status`).
///
/// # Errors
/// When PostgreSQL cannot be reached.
pub async fn migration_status(settings: &Settings) -> anyhow::Result<Vec<String>> {
    // Lazy: status reads as the owner, and the app role may not exist yet.
    let db = platform_adapter_postgres::PgDatabase::connect_lazy(&compose::persistence::pg_settings(settings), None)?;
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
