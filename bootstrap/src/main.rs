//! The `platform` binary: `serve` (default), `worker`, `migrate`, `admin create` and `config check`.

use std::process::ExitCode;

use clap::Parser;
use platform_bootstrap::cli::{AdminAction, AuditCommand, Cli, Command, ConfigAction, MigrateAction};
use platform_bootstrap::compose::{self, Built, Purpose};
use platform_bootstrap::config::{self, LoadOptions};
use platform_bootstrap::{app, logging};
use platform_ports::health::HealthRegistry;
use shaku::HasComponent;

/// Exit code for configuration errors (distinct from run-time failures).
const CONFIG_ERROR: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = LoadOptions {
        config_dir: cli.config_dir.clone(),
        environment: cli.environment,
        vars: None,
    };
    let loaded = match load(&opts).await {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("configuration error: {err:#}");
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    let (loaded, secrets) = loaded;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config {
            action: ConfigAction::Check,
        } => config_check(&loaded, secrets).await,
        Command::Serve => serve(loaded, secrets).await,
        Command::Worker => worker(loaded, secrets).await,
        Command::Migrate { action } => migrate(&loaded, action).await,
        Command::Admin {
            action: AdminAction::Create {
                email,
                password_stdin: _,
            },
        } => admin_create(&loaded, &email).await,
        Command::Audit {
            action: AuditCommand::Verify { tenant },
        } => audit_verify(&loaded, tenant).await,
    }
}

type SecretSource = Built<compose::secrets::SecretPort>;

/// Loads the layered configuration, then applies the configured secret
/// source as its last layer.
async fn load(opts: &LoadOptions) -> anyhow::Result<(config::LoadedConfig, SecretSource)> {
    let mut loaded = config::load(opts)?;
    let secrets = compose::secrets::build(&loaded.settings.secrets)?;
    let layers = secrets
        .ports
        .read_layers(&config::secret_keys())
        .await
        .map_err(|e| anyhow::anyhow!("secrets.source: {e}"))?;
    config::apply_secret_layers(&mut loaded, layers)?;
    Ok((loaded, secrets))
}

/// Builds every adapter the configuration selects (connecting, never
/// migrating), runs their health checks, and prints the settings (secrets
/// redacted), the adapter serving each port as built, and the checks.
async fn config_check(loaded: &config::LoadedConfig, secrets: SecretSource) -> ExitCode {
    let (builder, built) = match app::container(&loaded.settings, Purpose::Check).await {
        Ok(container) => container,
        Err(err) => {
            eprintln!("configuration error: {err:#}");
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    let mut parts = secrets.parts;
    parts.extend(built);
    let module = builder.build();
    let health: std::sync::Arc<dyn HealthRegistry> = module.resolve();
    for (name, checker) in &parts.checks {
        health.register(name, checker.clone());
    }
    let report = health.check().await;
    let doc = serde_json::json!({
        "config_dir": config::display_dir(loaded.config_dir.as_deref()),
        "settings": loaded.settings,
        "layers": loaded.layers,
        "adapters": parts.served.iter().map(|s| (s.port, &s.adapter)).collect::<std::collections::BTreeMap<_, _>>(),
        "health": report.checks,
    });
    match serde_json::to_string_pretty(&doc) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cannot print configuration: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(loaded: config::LoadedConfig, secrets: SecretSource) -> ExitCode {
    let (traces, _guard) = match telemetry(&loaded, "starting platform") {
        Ok(started) => started,
        Err(code) => return code,
    };
    let platform = match app::Platform::build_with_secrets(loaded.settings, secrets, traces).await {
        Ok(platform) => platform,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "start-up failed");
            eprintln!("start-up failed: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    match platform.run_until(app::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "platform failed");
            ExitCode::FAILURE
        }
    }
}

/// `platform worker`: the job workers and cron, no HTTP server.
async fn worker(loaded: config::LoadedConfig, secrets: SecretSource) -> ExitCode {
    if loaded.settings.scheduler.driver != config::SchedulerDriver::Redis {
        eprintln!(
            "configuration error: scheduler.driver is memory: its jobs live in the serving process; `platform worker` needs scheduler.driver: redis"
        );
        return ExitCode::from(CONFIG_ERROR);
    }
    let (traces, _guard) = match telemetry(&loaded, "starting platform worker") {
        Ok(started) => started,
        Err(code) => return code,
    };
    let worker = match app::Worker::build_with_secrets(loaded.settings, secrets, traces).await {
        Ok(worker) => worker,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "start-up failed");
            eprintln!("start-up failed: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    match worker.run_until(app::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "worker failed");
            ExitCode::FAILURE
        }
    }
}

/// Trace export and logging, then the start-up line.
fn telemetry(
    loaded: &config::LoadedConfig,
    starting: &'static str,
) -> Result<
    (
        Option<platform_adapter_telemetry::OtlpTracing>,
        Option<logging::LogGuard>,
    ),
    ExitCode,
> {
    let traces = compose::telemetry::traces(&loaded.settings).map_err(|err| {
        eprintln!("configuration error: {err:#}");
        ExitCode::from(CONFIG_ERROR)
    })?;
    let guard = logging::init(&loaded.settings.logging, traces.as_ref()).map_err(|err| {
        eprintln!("configuration error: {err:#}");
        ExitCode::from(CONFIG_ERROR)
    })?;
    tracing::info!(
        environment = loaded.settings.environment.as_str(),
        config_dir = %config::display_dir(loaded.config_dir.as_deref()),
        "{starting}"
    );
    Ok((traces, guard))
}

async fn admin_create(loaded: &config::LoadedConfig, email: &str) -> ExitCode {
    let mut line = String::new();
    if let Err(err) = std::io::stdin().read_line(&mut line) {
        eprintln!("cannot read the password from standard input: {err}");
        return ExitCode::FAILURE;
    }
    let password = platform_ports::model::SecretString::new(line.trim_end_matches(['\r', '\n']));
    if loaded.settings.database.driver == config::DatabaseDriver::Memory {
        eprintln!(
            "warning: database.driver is memory: the administrator exists only in this process; use postgres to keep it"
        );
    }
    match app::create_admin(&loaded.settings, email, &password).await {
        Ok(user) => {
            println!("administrator {} ({}) is ready", user.email, user.id);
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit status of `platform audit verify` when a chain is broken.
const AUDIT_BROKEN: u8 = 3;

async fn audit_verify(loaded: &config::LoadedConfig, tenant: Option<uuid::Uuid>) -> ExitCode {
    if loaded.settings.database.driver == config::DatabaseDriver::Memory {
        eprintln!("warning: database.driver is memory: only this process's (empty) audit log is checked; use postgres");
    }
    let reports = match app::verify_audit(&loaded.settings, tenant.map(platform_ports::model::TenantId)).await {
        Ok(reports) => reports,
        Err(err) => {
            eprintln!("cannot verify the audit log: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut broken = 0usize;
    for report in &reports {
        let checkpoint = report
            .checkpoint_seq
            .map_or_else(|| "no checkpoint".to_owned(), |seq| format!("checkpoint at {seq}"));
        match &report.broken {
            None => println!(
                "tenant {}: intact, {} entries verified, {checkpoint}",
                report.tenant_id, report.verified
            ),
            Some(link) => {
                broken += 1;
                let entry = link.entry_id.map_or_else(|| "-".to_owned(), |id| id.to_string());
                println!(
                    "tenant {}: BROKEN at seq {} (entry {entry}): {:?}; {} entries verified before it, {checkpoint}",
                    report.tenant_id, link.seq, link.fault, report.verified
                );
            }
        }
    }
    if reports.is_empty() {
        println!("no audit chain to verify");
    }
    if broken > 0 {
        eprintln!("{broken} of {} audit chains are broken", reports.len());
        return ExitCode::from(AUDIT_BROKEN);
    }
    ExitCode::SUCCESS
}

async fn migrate(loaded: &config::LoadedConfig, action: Option<MigrateAction>) -> ExitCode {
    if loaded.settings.database.driver != config::DatabaseDriver::Postgres {
        eprintln!("database.driver is memory: there is nothing to migrate (set database.driver: postgres)");
        return ExitCode::from(CONFIG_ERROR);
    }
    let result = match action {
        None => app::migrate(&loaded.settings)
            .await
            .map(|()| println!("migrations applied")),
        Some(MigrateAction::Status) => app::migration_status(&loaded.settings).await.map(|rows| {
            for row in rows {
                println!("{row}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err:#}");
            ExitCode::FAILURE
        }
    }
}
