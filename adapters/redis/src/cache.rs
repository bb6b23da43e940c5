//! [`RedisCache`]: the `Cache` port over Redis.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis;
use platform_ports::cache::{Cache, CacheError};
use tracing::Instrument as _;

use crate::health::RedisHealthChecker;
use crate::link::{Link, RedisConnectError};
use crate::settings::RedisSettings;

/// TTLs above this many milliseconds never expire: Redis rejects an expiry
/// that overflows when added to the current time, and no cache entry needs
/// more than a few million years.
const LONGEST_TTL_MS: u128 = (i64::MAX / 2) as u128;

/// A Redis-backed cache, shared across instances.
///
/// When Redis is unreachable (refused, dropped, or no answer within the
/// command timeout) every call answers [`CacheError::Unavailable`] at once;
/// the pool reconnects by itself when Redis is back. Errors Redis answers
/// with (a wrong type, a non-integer counter) are [`CacheError::NotAnInteger`]
/// or [`CacheError::Backend`]. Needs a tokio runtime; clones share the pool.
#[derive(Clone)]
pub struct RedisCache {
    link: Arc<Link>,
}

/// The expiry of a value stored with a TTL.
enum Expiry {
    Never,
    /// Milliseconds, at least 1.
    After(u64),
    /// A zero TTL: stored and gone at once.
    Now,
}

impl Expiry {
    fn of(ttl: Option<Duration>) -> Self {
        let Some(ttl) = ttl else {
            return Self::Never;
        };
        // Rounded up, so a sub-millisecond TTL is not read as "expire now".
        match ttl.as_nanos().div_ceil(1_000_000) {
            0 => Self::Now,
            ms if ms > LONGEST_TTL_MS => Self::Never,
            ms => u64::try_from(ms).map_or(Self::Never, Self::After),
        }
    }
}

impl RedisCache {
    /// Builds the pool; Redis itself is first contacted by the first
    /// command, so an unreachable Redis at start-up is not an error here.
    ///
    /// # Errors
    /// [`RedisConnectError`] when the URL or the pool settings are invalid.
    pub fn connect(settings: &RedisSettings) -> Result<Self, RedisConnectError> {
        Ok(Self {
            link: Arc::new(Link::open(settings)?),
        })
    }

    /// A health checker: up while Redis answers a `PING`.
    #[must_use]
    pub fn health_checker(&self) -> RedisHealthChecker {
        RedisHealthChecker::new(Arc::clone(&self.link))
    }
}

fn command(name: &str, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    cmd
}

/// The client span of one cache command, named by its operation as
/// OpenTelemetry's database conventions ask (`GET`, `SET`...); keys are
/// left out: they can name users and would make every span unique.
fn span(operation: &'static str) -> tracing::Span {
    tracing::info_span!(
        "redis.command",
        otel.name = operation,
        otel.kind = "client",
        db.system = "redis",
        db.operation.name = operation,
    )
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        self.link.query(&command("GET", key)).instrument(span("GET")).await
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError> {
        let (operation, cmd) = match Expiry::of(ttl) {
            Expiry::Never => {
                let mut cmd = command("SET", key);
                cmd.arg(&value);
                ("SET", cmd)
            }
            Expiry::After(ms) => {
                let mut cmd = command("SET", key);
                cmd.arg(&value).arg("PX").arg(ms);
                ("SET", cmd)
            }
            // Redis rejects `PX 0`; a value that expires at once is no value.
            Expiry::Now => ("DEL", command("DEL", key)),
        };
        self.link.query::<()>(&cmd).instrument(span(operation)).await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.link
            .query::<()>(&command("DEL", key))
            .instrument(span("DEL"))
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let count = self
            .link
            .query::<i64>(&command("EXISTS", key))
            .instrument(span("EXISTS"))
            .await?;
        Ok(count > 0)
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let window_ms = match Expiry::of(ttl) {
            Expiry::Never => -1,
            Expiry::Now => 0,
            // At most LONGEST_TTL_MS, so it fits.
            Expiry::After(ms) => i64::try_from(ms).unwrap_or(-1),
        };
        // INCR with its first expiry, as one script.
        self.link.increment(key, window_ms).instrument(span("EVALSHA")).await
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        // -2: absent, -1: no expiry.
        let ms = self
            .link
            .query::<i64>(&command("PTTL", key))
            .instrument(span("PTTL"))
            .await?;
        Ok(u64::try_from(ms).ok().map(Duration::from_millis))
    }
}
