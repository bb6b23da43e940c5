//! Pool settings, with the seed's defaults.

use std::time::Duration;

use platform_ports::model::SecretString;

/// The role migration 0013 creates and grants: what the platform's
/// connections act as by default.
pub const APP_ROLE: &str = "platform_app";

/// How [`crate::PgDatabase::connect`] builds its pool.
#[derive(Clone, Debug)]
pub struct PgSettings {
    /// Connection string (`postgres://user:pass@host:5432/db?sslmode=require`).
    pub dsn: SecretString,
    /// Most connections open at once.
    pub max_connections: u32,
    /// Connections kept open while idle (the seed's `max_idle_connections`).
    pub min_connections: u32,
    /// How long a caller waits for a connection before the operation fails.
    pub acquire_timeout: Duration,
    /// Connections are replaced after this long, so server-side state and
    /// fail-overs never pin a connection forever.
    pub max_lifetime: Duration,
    /// Idle connections above `min_connections` are closed after this long.
    pub idle_timeout: Duration,
    /// Shown in `pg_stat_activity`.
    pub application_name: String,
    /// The role every pooled connection acts as (`-c role=…` at connect):
    /// neither superuser nor table owner, so row-level security holds. Empty
    /// means the DSN's own user (RLS then binds only if that user is neither).
    pub app_role: String,
    /// Where migrations run, as the tables' owner. `None`: the DSN's user,
    /// without `app_role`.
    pub migrations_dsn: Option<SecretString>,
}

impl PgSettings {
    /// The seed's defaults for `dsn`: 25 connections, 5 kept idle, 5 s to
    /// get one, replaced after 5 min, idle ones closed after 10 min.
    pub fn new(dsn: SecretString) -> Self {
        Self { dsn, ..Self::default() }
    }
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            dsn: SecretString::default(),
            max_connections: 25,
            min_connections: 5,
            acquire_timeout: Duration::from_secs(5),
            max_lifetime: Duration::from_secs(5 * 60),
            idle_timeout: Duration::from_secs(10 * 60),
            application_name: "platform".to_owned(),
            app_role: APP_ROLE.to_owned(),
            migrations_dsn: None,
        }
    }
}
