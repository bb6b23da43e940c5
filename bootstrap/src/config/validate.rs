//! Rules the types cannot express. Every error names its key.

use std::time::Duration;

use platform_ports::model::Email;
use tracing_subscriber::EnvFilter;

use super::{ConfigError, DatabaseDriver, Environment, EventBusDriver, JwtAlgorithm, SchedulerDriver, Settings};

struct Errors(Vec<ConfigError>);

impl Errors {
    fn check(&mut self, ok: bool, key: &str, message: impl Into<String>) {
        if !ok {
            self.0.push(ConfigError::at(key, message));
        }
    }

    fn positive(&mut self, value: Duration, key: &str) {
        self.check(!value.is_zero(), key, "must be greater than zero");
    }
}

/// Checks the settings; returns every problem, each naming its key.
pub(super) fn validate(s: &Settings) -> Result<(), ConfigError> {
    validate_except(s, &[])
}

/// As [`validate`], leaving out the problems of the keys in `pending` (the
/// secrets a remote store has not filled in yet).
pub(super) fn validate_except(s: &Settings, pending: &[&str]) -> Result<(), ConfigError> {
    let mut e = Errors(Vec::new());

    let host_ok = !s.server.host.is_empty()
        && (s.server.host.parse::<std::net::IpAddr>().is_ok()
            || s.server
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    e.check(
        host_ok,
        "server.host",
        format!("`{}` is not an IP address or host name", s.server.host),
    );
    e.positive(s.server.timeout, "server.timeout");
    e.positive(s.server.shutdown_timeout, "server.shutdown_timeout");
    e.check(
        s.server.max_body_bytes > 0,
        "server.max_body_bytes",
        "must be greater than zero",
    );

    e.check(
        s.database.max_connections >= 1,
        "database.max_connections",
        "must be at least 1",
    );
    e.check(
        s.database.max_idle_connections <= s.database.max_connections,
        "database.max_idle_connections",
        "must not exceed database.max_connections",
    );
    e.positive(s.database.connect_timeout, "database.connect_timeout");
    // Given at connect time as `-c role=…`: an identifier, nothing to escape.
    e.check(
        s.database
            .app_role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "database.app_role",
        "must be empty or a lower-case role name (letters, digits, underscores)",
    );
    if s.database.driver == DatabaseDriver::Postgres {
        e.check(
            !s.database.dsn.is_empty(),
            "database.dsn",
            "is required when database.driver is postgres",
        );
    }

    if let Err(err) = EnvFilter::try_new(&s.logging.level) {
        e.check(
            false,
            "logging.level",
            format!("`{}` is not a log filter: {err}", s.logging.level),
        );
    }
    e.check(
        !s.logging.output.trim().is_empty(),
        "logging.output",
        "must be stdout, stderr or a file path",
    );

    if s.cache.enabled {
        e.positive(s.cache.ttl, "cache.ttl");
    }
    e.check(s.redis.pool_size >= 1, "redis.pool_size", "must be at least 1");
    e.positive(s.redis.command_timeout, "redis.command_timeout");
    e.positive(s.redis.retry_interval, "redis.retry_interval");
    e.check(
        s.cache
            .namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        "cache.namespace",
        "may hold only letters, digits, `-`, `_` and `.`",
    );

    let auth = &s.auth;
    e.check(!auth.issuer.is_empty(), "auth.issuer", "must not be empty");
    e.check(!auth.audience.is_empty(), "auth.audience", "must not be empty");
    e.positive(auth.access_token_ttl, "auth.access_token_ttl");
    e.check(
        auth.refresh_token_ttl > auth.access_token_ttl,
        "auth.refresh_token_ttl",
        "must be longer than auth.access_token_ttl",
    );
    e.positive(auth.email_verification_ttl, "auth.email_verification_ttl");
    e.positive(auth.password_reset_ttl, "auth.password_reset_ttl");
    e.check(
        auth.refresh_token_key.expose().len() >= 32,
        "auth.refresh_token_key",
        "needs at least 32 bytes (set PLATFORM__AUTH__REFRESH_TOKEN_KEY or a secret file)",
    );
    let checkpoint_key = s.audit.checkpoint_key.expose();
    e.check(
        checkpoint_key.is_empty() || checkpoint_key.len() >= 32,
        "audit.checkpoint_key",
        "needs at least 32 bytes, or leave it empty to write no checkpoints (set PLATFORM__AUDIT__CHECKPOINT_KEY or a secret file)",
    );
    let url = &s.server.public_url;
    e.check(
        url.starts_with("http://") || url.starts_with("https://"),
        "server.public_url",
        "must start with http:// or https://",
    );
    match auth.jwt.algorithm {
        JwtAlgorithm::HS256 => e.check(
            auth.jwt.secret.expose().len() >= 32,
            "auth.jwt.secret",
            "HS256 needs a secret of at least 32 bytes (set PLATFORM__AUTH__JWT__SECRET or a secret file)",
        ),
        JwtAlgorithm::RS256 => {
            e.check(
                !auth.jwt.private_key_file.is_empty(),
                "auth.jwt.private_key_file",
                "is required for RS256",
            );
            e.check(
                !auth.jwt.public_key_file.is_empty(),
                "auth.jwt.public_key_file",
                "is required for RS256",
            );
        }
    }
    let pw = &auth.password;
    e.check(pw.min_length >= 8, "auth.password.min_length", "must be at least 8");
    e.check(
        pw.argon2.iterations >= 1,
        "auth.password.argon2.iterations",
        "must be at least 1",
    );
    e.check(
        pw.argon2.parallelism >= 1,
        "auth.password.argon2.parallelism",
        "must be at least 1",
    );
    e.check(
        pw.argon2.memory_kib >= 8 * pw.argon2.parallelism.max(1),
        "auth.password.argon2.memory_kib",
        "must be at least 8 KiB per lane",
    );
    e.check(
        pw.max_concurrent_hashes >= 1,
        "auth.password.max_concurrent_hashes",
        "must be at least 1",
    );

    if !s.admin.email.is_empty() {
        e.check(
            Email::parse(&s.admin.email).is_ok(),
            "admin.email",
            "is not a valid email address",
        );
        e.check(
            s.admin.password.expose().chars().count() >= pw.min_length,
            "admin.password",
            format!("must be at least {} characters when admin.email is set", pw.min_length),
        );
    }

    e.check(
        s.event_bus.queue_capacity >= 1,
        "event_bus.queue_capacity",
        "must be at least 1",
    );
    e.check(
        s.event_bus.initial_backoff <= s.event_bus.max_backoff,
        "event_bus.initial_backoff",
        "must not exceed event_bus.max_backoff",
    );
    e.positive(s.event_bus.processed_retention, "event_bus.processed_retention");
    let relay = &s.outbox.relay;
    e.check(relay.batch_size >= 1, "outbox.relay.batch_size", "must be at least 1");
    e.positive(relay.lease, "outbox.relay.lease");
    e.positive(relay.poll_interval, "outbox.relay.poll_interval");
    e.check(
        relay.initial_backoff <= relay.max_backoff,
        "outbox.relay.initial_backoff",
        "must not exceed outbox.relay.max_backoff",
    );
    if s.event_bus.driver == EventBusDriver::Kafka {
        // An acknowledged event must be marked sent while the claim still
        // holds, or another instance claims it again and publishes it twice.
        e.check(
            relay.lease > s.kafka.publish_timeout,
            "outbox.relay.lease",
            format!(
                "must be longer than kafka.publish_timeout ({} <= {})",
                humantime::format_duration(relay.lease),
                humantime::format_duration(s.kafka.publish_timeout)
            ),
        );
    }
    e.check(
        s.scheduler.concurrency >= 1,
        "scheduler.concurrency",
        "must be at least 1",
    );
    e.check(
        !s.scheduler.queues.is_empty() && s.scheduler.queues.values().all(|w| *w >= 1),
        "scheduler.queues",
        "needs at least one queue, each with a weight of at least 1",
    );
    let t = &s.scheduler.timings;
    e.check(
        t.lease >= Duration::from_secs(1),
        "scheduler.timings.lease",
        "must be at least 1s (asynq stores leases in seconds)",
    );
    e.check(
        !t.heartbeat_interval.is_zero() && t.heartbeat_interval < t.lease,
        "scheduler.timings.heartbeat_interval",
        "must be positive and shorter than scheduler.timings.lease",
    );
    for (key, interval) in [
        ("scheduler.timings.recover_interval", t.recover_interval),
        ("scheduler.timings.forward_interval", t.forward_interval),
        ("scheduler.timings.janitor_interval", t.janitor_interval),
        ("scheduler.timings.task_check_interval", t.task_check_interval),
        ("scheduler.timings.scheduler_heartbeat", t.scheduler_heartbeat),
    ] {
        e.check(!interval.is_zero(), key, "must be positive");
    }
    for (i, cron) in s.scheduler.cron.iter().enumerate() {
        e.check(
            !cron.name.is_empty() && !cron.spec.is_empty() && !cron.task_type.is_empty(),
            &format!("scheduler.cron[{i}]"),
            "needs a name, a spec and a task_type",
        );
    }

    if s.digest.enabled {
        let parsed = platform_core::notify::digest::DigestSchedule::parse(&s.digest.schedule);
        e.check(parsed.is_ok(), "digest.schedule", parsed.err().unwrap_or_default());
    }
    e.check(s.digest.max_posts >= 1, "digest.max_posts", "must be at least 1");
    for (key, path) in [
        ("digest.post_path", &s.digest.post_path),
        ("digest.settings_path", &s.digest.settings_path),
    ] {
        e.check(path.starts_with('/'), key, "must start with /");
    }

    let base = &s.blob.local.public_base_url;
    e.check(
        base.starts_with("http://") || base.starts_with("https://"),
        "blob.local.public_base_url",
        "must start with http:// or https://",
    );
    e.check(
        s.blob.max_upload_bytes >= 1,
        "blob.max_upload_bytes",
        "must be at least 1",
    );
    e.check(
        s.blob.allowed_content_types.iter().all(|t| {
            let (kind, sub) = t.trim().split_once('/').unwrap_or(("", ""));
            !kind.is_empty() && !sub.is_empty() && !t.contains(';')
        }),
        "blob.allowed_content_types",
        "each must be `type/subtype`, `type/*` or `*/*`",
    );
    e.check(
        (1..=7 * 24 * 3600).contains(&s.blob.signed_url_ttl.as_secs()),
        "blob.signed_url_ttl",
        "must be between 1 second and 7 days",
    );
    e.check(s.mail.from.contains('@'), "mail.from", "must contain an email address");

    let ratio = s.health.memory_min_available_ratio;
    e.check(
        (0.0..=1.0).contains(&ratio),
        "health.memory_min_available_ratio",
        "must be between 0 and 1",
    );
    e.positive(s.health.check_timeout, "health.check_timeout");
    e.check(s.error_bus.capacity >= 1, "error_bus.capacity", "must be at least 1");

    if s.environment == Environment::Production {
        e.check(
            s.database.driver != DatabaseDriver::Memory || s.allow_in_memory,
            "database.driver",
            "production refuses the in-memory database (data is lost on restart); use postgres or set allow_in_memory: true",
        );
        e.check(
            s.scheduler.driver != SchedulerDriver::Memory || s.scheduler.allow_in_memory || s.allow_in_memory,
            "scheduler.driver",
            "production refuses the in-memory job queue (jobs are lost on restart); set scheduler.allow_in_memory: true to accept that",
        );
    }

    e.0.retain(|err| !err.key.as_deref().is_some_and(|key| pending.contains(&key)));
    match e.0.len() {
        0 => Ok(()),
        1 => Err(e.0.remove(0)),
        _ => {
            let key = e.0[0].key.clone();
            let message = e.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
            Err(ConfigError { key, message })
        }
    }
}
