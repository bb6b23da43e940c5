//! Harness for the black-box suites: starts a whole platform on 127.0.0.1
//! port 0 with the `test` configuration and talks to it over real HTTP.
//!
//! The suites only use HTTP, the mail they are sent (read from the app's
//! outbox directory, or from the SMTP capture server with `mail.driver:
//! smtp`) and this harness, so
//! the same tests run against whichever adapters the configuration selects
//! (`PLATFORM_TEST__…` variables are passed through as `PLATFORM__…`
//! overrides).
//!
//! Every test starts its own app and assumes storage of its own (exact user
//! lists, audit counts, fixed emails): the in-memory profile gives that; a
//! PostgreSQL profile must give each app a fresh database or schema.
//!
//! Helpers return `anyhow::Result` with the offending status and body in the
//! error, so a test's `.unwrap()` points at the failing line and says why.

mod api;
mod app;
mod isolation;
pub mod jwt;
mod mail;
pub mod process;
mod queue_db;

use std::collections::HashMap;
use std::path::PathBuf;

use platform_bootstrap::config::{self, Environment, LoadOptions, Settings};

pub use api::{Reply, TokenPair, assert_problem, expect, expect_json, field_errors};
pub use app::TestApp;
pub use mail::{Mail, capture_maildir, decode_quoted_printable, extract_token, parse_eml};

/// The administrator every spawned app creates at start-up.
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// The administrator's password (longer than the 12-character policy minimum).
pub const ADMIN_PASSWORD: &str = "admin-password-for-the-suite";

/// The tenant used when a request names none.
pub const DEFAULT_TENANT: &str = "00000000-0000-0000-0000-000000000000";

/// The repository's `config/` directory.
#[must_use]
pub fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// A key file the crypto adapter's tests ship (`adapters/crypto/tests/fixtures/`),
/// e.g. the RS256 pair `rs256_private.pem` / `rs256_public.pem`.
#[must_use]
pub fn crypto_fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../adapters/crypto/tests/fixtures")
        .join(name)
}

/// The `test` settings, with extra `PLATFORM__…` overrides.
///
/// Layering: the suite's defaults (the bootstrap admin), then
/// `PLATFORM_TEST__…` variables from the environment, then `overrides`.
///
/// # Errors
/// When the configuration does not load.
pub fn test_settings(overrides: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let mut vars: HashMap<String, String> = [
        ("PLATFORM__ADMIN__EMAIL", ADMIN_EMAIL),
        ("PLATFORM__ADMIN__PASSWORD", ADMIN_PASSWORD),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.extend(std::env::vars().filter_map(|(k, v)| {
        k.strip_prefix("PLATFORM_TEST__")
            .map(|rest| (format!("PLATFORM__{rest}"), v))
    }));
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let loaded = config::load(&LoadOptions {
        config_dir: Some(config_dir()),
        environment: Some(Environment::Test),
        vars: Some(vars),
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(loaded.settings)
}
