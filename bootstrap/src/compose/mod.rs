//! The composition root: one build function per port family.
//!
//! Each family (`persistence`, `cache`, `events`, `jobs`, `blob`, `notify`,
//! `security`, `telemetry`, `secrets`) reads its part of the typed settings,
//! matches on its driver and returns what it built: the port objects, and in
//! its [`Parts`] which adapter serves each port, the health checks and the
//! background services. [`assemble`] runs them all; [`crate::container`]
//! feeds the ports to the shaku module in one place. Adding an adapter is one
//! match arm here and one crate under `adapters/`.
//!
//! The adapter names that the start-up log and `platform config check` print
//! are taken from the type of the value each arm built (see [`serve!`]), so
//! they cannot drift from what runs.

pub mod blob;
pub mod cache;
pub mod events;
pub mod jobs;
pub mod notify;
pub mod persistence;
pub mod secrets;
pub mod security;
pub mod telemetry;

use std::sync::Arc;

use platform_ports::health::HealthChecker;
use platform_ports::lifecycle::BackgroundService;
use serde::Serialize;

use crate::config::Settings;

/// Which adapter serves one port, named from the built value's type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Served {
    /// The port (`UserRepository`).
    pub port: &'static str,
    /// The adapter (`platform_adapter_postgres::PgUserRepository`).
    pub adapter: String,
}

/// What a family built besides its port objects.
#[derive(Default)]
pub struct Parts {
    /// The adapter serving each port, in build order.
    pub served: Vec<Served>,
    /// Readiness checks of the infrastructure the adapters talk to.
    pub checks: Vec<(&'static str, Arc<dyn HealthChecker>)>,
    /// Background services, in start order (stopped in reverse).
    pub services: Vec<Arc<dyn BackgroundService>>,
    /// Secrets an adapter takes while running (`database.dsn`,
    /// `auth.jwt.secret`): the key and what applies a new value. A key
    /// without one needs a restart to change.
    pub rotations: Vec<(&'static str, Rotate)>,
}

/// Applies a rotated secret to a running adapter.
pub type Rotate = Arc<dyn Fn(&platform_ports::model::SecretString) -> anyhow::Result<()> + Send + Sync>;

impl Parts {
    /// Records that `adapter` serves `port`.
    pub fn record(&mut self, port: &'static str, adapter: String) {
        self.served.push(Served { port, adapter });
    }

    /// Adds a readiness check.
    pub fn check(&mut self, name: &'static str, checker: Arc<dyn HealthChecker>) {
        self.checks.push((name, checker));
    }

    /// Adds a background service (started after those added before it).
    pub fn service(&mut self, service: Arc<dyn BackgroundService>) {
        self.services.push(service);
    }

    /// Lets `key` change while running, through `rotate`.
    pub fn rotation(&mut self, key: &'static str, rotate: Rotate) {
        self.rotations.push((key, rotate));
    }

    /// Appends another family's parts.
    pub fn extend(&mut self, other: Parts) {
        self.served.extend(other.served);
        self.checks.extend(other.checks);
        self.services.extend(other.services);
        self.rotations.extend(other.rotations);
    }
}

/// A family's result: its port objects and the rest of what it built.
pub struct Built<P> {
    /// The port objects (boxed: the shaku module owns them).
    pub ports: P,
    /// Adapters served, health checks, background services.
    pub parts: Parts,
}

/// `crate::path::Type<Args>` → `crate::Type`: short enough for a log line,
/// still naming the crate the adapter comes from.
#[must_use]
pub fn type_label(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    match (base.split_once("::"), base.rsplit_once("::")) {
        (Some((first, _)), Some((_, last))) => format!("{first}::{last}"),
        _ => base.to_owned(),
    }
}

/// The label of a built value, from its type.
#[must_use]
pub fn label_of<T: ?Sized>(value: &T) -> String {
    type_label(std::any::type_name_of_val(value))
}

/// Boxes `$value` as the port `$port`, recording in `$parts` that the
/// value's type serves it. The cast makes the compiler check the adapter
/// implements the port. An optional label describes a wrapper with what it
/// wraps (`FallbackCache(RedisCache, MemoryCache)`).
macro_rules! serve {
    ($parts:expr, $port:ident, $value:expr) => {{
        let value = $value;
        let label = $crate::compose::label_of(&value);
        $parts.record(stringify!($port), label);
        Box::new(value) as Box<dyn $port>
    }};
    ($parts:expr, $port:ident, $value:expr, $label:expr) => {{
        let value = $value;
        $parts.record(stringify!($port), $label);
        Box::new(value) as Box<dyn $port>
    }};
}
pub(crate) use serve;

/// Every family's ports, built from one configuration.
pub struct Assembly {
    /// Metrics and the error bus.
    pub telemetry: telemetry::Telemetry,
    /// Repositories, the unit of work, the outbox, the audit store.
    pub persistence: persistence::Persistence,
    /// The cache.
    pub cache: cache::CachePort,
    /// The event bus.
    pub events: events::EventPorts,
    /// The job queue and cron.
    pub jobs: jobs::JobPorts,
    /// Blob storage.
    pub blob: blob::BlobPort,
    /// Mail and the other notification channels.
    pub notify: notify::NotifyPorts,
    /// Password hashing and tokens.
    pub security: security::SecurityPorts,
    /// What every family built besides its ports, in family order.
    pub parts: Parts,
}

/// How far [`assemble`] goes: serving, or only checking the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Build everything, migrations included when configured.
    Serve,
    /// Build and connect, but change nothing (no migrations): `config check`.
    Check,
}

/// Runs every family for `settings`.
///
/// # Errors
/// The first family that cannot build, with a message naming its key.
pub async fn assemble(settings: &Settings, purpose: Purpose) -> anyhow::Result<Assembly> {
    let mut parts = Parts::default();
    let telemetry = telemetry::build(settings)?;
    let metrics = telemetry.ports.metrics.clone();
    parts.extend(telemetry.parts);
    let persistence = persistence::build(settings, &metrics, purpose).await?;
    parts.extend(persistence.parts);
    let cache = cache::build(settings, &metrics)?;
    parts.extend(cache.parts);
    let events = events::build(settings, &metrics)?;
    parts.extend(events.parts);
    let jobs = jobs::build(settings).await?;
    parts.extend(jobs.parts);
    let blob = blob::build(settings, purpose).await?;
    parts.extend(blob.parts);
    let notify = notify::build(settings)?;
    parts.extend(notify.parts);
    let security = security::build(settings)?;
    parts.extend(security.parts);
    Ok(Assembly {
        telemetry: telemetry.ports,
        persistence: persistence.ports,
        cache: cache.ports,
        events: events.ports,
        jobs: jobs.ports,
        blob: blob.ports,
        notify: notify.ports,
        security: security.ports,
        parts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_the_crate_and_the_type() {
        assert_eq!(
            type_label("platform_adapter_postgres::users::PgUserRepository"),
            "platform_adapter_postgres::PgUserRepository"
        );
        assert_eq!(
            type_label("platform_core::cache::NamespacedCache<alloc::sync::Arc<dyn x::Cache>>"),
            "platform_core::NamespacedCache"
        );
        assert_eq!(type_label("u8"), "u8");
    }
}
