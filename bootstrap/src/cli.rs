//! The `platform` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Environment;

/// A production-grade backend kernel.
#[derive(Debug, Parser)]
#[command(name = "platform", version, about)]
pub struct Cli {
    /// Directory with default.yaml and {environment}.yaml (default: PLATFORM_CONFIG_DIR,
    /// else the nearest ./config upwards).
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Environment: development, test or production (default: PLATFORM_ENV, else development).
    #[arg(long = "env", global = true, value_parser = parse_env)]
    pub environment: Option<Environment>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (the default), with the job workers and cron
    /// unless `scheduler.workers` is false.
    Serve,
    /// Run the job workers and cron without the HTTP server (needs
    /// `scheduler.driver: redis`). SIGTERM stops fetching, lets tasks in hand
    /// finish for up to `server.shutdown_timeout` and gives the rest back.
    Worker,
    /// Manage administrators.
    Admin {
        /// What to do.
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Apply the database migrations (forward-only; re-running is a no-op).
    Migrate {
        /// `status`: list applied and pending migrations instead.
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Check the tamper-evident audit log.
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Inspect configuration.
    Config {
        /// What to do with it.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `platform config …`
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Load and validate the configuration, then print it with secrets redacted.
    Check,
}

fn parse_env(value: &str) -> Result<Environment, String> {
    Environment::parse(value).ok_or_else(|| format!("`{value}` is not development, test or production"))
}

/// `platform admin …`
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Create (or complete) a verified administrator holding every permission.
    Create {
        /// The administrator's email.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (first line), never from the command line.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

/// `platform audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk each tenant's hash chain and its latest signed checkpoint; exits
    /// non-zero when a chain is broken.
    Verify {
        /// Only this tenant (a UUID); default: every tenant with a chain.
        #[arg(long, value_name = "TENANT_ID")]
        tenant: Option<uuid::Uuid>,
    },
}

/// `platform migrate …`
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// List each migration and whether it is applied.
    Status,
}
