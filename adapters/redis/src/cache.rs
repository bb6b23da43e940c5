//! [`RedisCache`]: the `Cache` port over Redis, served from memory while
//! Redis is unreachable.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::redis;
use platform_adapter_memory::MemoryCache;
use platform_ports::cache::{Cache, CacheError};
use platform_ports::metrics::Metrics;

use crate::fallback::Shared;
use crate::health::RedisHealthChecker;
use crate::link::{Failure, Link, RedisConnectError};
use crate::settings::RedisSettings;

/// TTLs above this many milliseconds never expire: Redis rejects an expiry
/// that overflows when added to the current time, and no cache entry needs
/// more than a few million years.
const LONGEST_TTL_MS: u128 = (i64::MAX / 2) as u128;

/// A Redis-backed cache, shared across instances.
///
/// When a command finds Redis unreachable (refused, dropped, or no answer
/// within the command timeout) the cache logs one warning and serves from
/// the in-memory fallback; a background task tries Redis every
/// `retry_interval` and switches back when it answers, first deleting from
/// Redis the keys written during the outage. Errors Redis answers with
/// (a wrong type, a non-integer counter) are returned, not treated as an
/// outage. Needs a tokio runtime; clones share the pool and the fallback.
#[derive(Clone)]
pub struct RedisCache {
    shared: Arc<Shared>,
}

/// Where a call was served.
enum Served<T> {
    Redis(T),
    Memory(MemoryCache),
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
    /// command, so an unreachable Redis at start-up only means the fallback
    /// serves.
    ///
    /// # Errors
    /// [`RedisConnectError`] when the URL or the pool settings are invalid.
    pub fn connect(settings: RedisSettings, fallback: MemoryCache) -> Result<Self, RedisConnectError> {
        let link = Link::open(&settings)?;
        Ok(Self {
            shared: Arc::new(Shared::new(
                link,
                settings.display_url(),
                settings.retry_interval,
                fallback,
            )),
        })
    }

    /// Counts hits and misses as `cache.requests{result}` and exports
    /// `cache.hit_ratio` (instruments are created once; a second call is ignored).
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<dyn Metrics>) -> Self {
        self.shared.lookups.export_to(&*metrics);
        self
    }

    /// A health checker: up on Redis, degraded on the fallback.
    #[must_use]
    pub fn health_checker(&self) -> RedisHealthChecker {
        RedisHealthChecker::new(self.shared.clone())
    }

    /// Whether the in-memory fallback is serving.
    #[must_use]
    pub fn is_on_fallback(&self) -> bool {
        self.shared.on_fallback()
    }

    /// Lookups (`get`, `exists`) that found a live value.
    #[must_use]
    pub fn hits(&self) -> u64 {
        self.shared.lookups.hits()
    }

    /// Lookups (`get`, `exists`) that found nothing.
    #[must_use]
    pub fn misses(&self) -> u64 {
        self.shared.lookups.misses()
    }

    /// Runs `redis` unless the fallback is serving; an outage switches to it.
    async fn attempt<T>(&self, redis: impl Future<Output = Result<T, Failure>>) -> Result<Served<T>, CacheError> {
        if let Some(memory) = self.shared.active_fallback() {
            return Ok(Served::Memory(memory));
        }
        match redis.await {
            Ok(value) => Ok(Served::Redis(value)),
            Err(Failure::Refused(err)) => Err(err),
            Err(Failure::Unreachable(cause)) => Ok(Served::Memory(self.shared.fail_over(&cause))),
        }
    }

    /// [`RedisCache::attempt`] for a write to `key`, remembered when the fallback takes it.
    async fn attempt_write<T>(
        &self,
        key: &str,
        redis: impl Future<Output = Result<T, Failure>>,
    ) -> Result<Served<T>, CacheError> {
        let served = self.attempt(redis).await?;
        if matches!(served, Served::Memory(_)) {
            self.shared.changed_on_fallback(key);
        }
        Ok(served)
    }
}

fn command(name: &str, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    cmd
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let value = match self.attempt(self.shared.link.query(&command("GET", key))).await? {
            Served::Redis(value) => value,
            Served::Memory(memory) => memory.get(key).await?,
        };
        self.shared.lookups.record(value.is_some());
        Ok(value)
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError> {
        let cmd = match Expiry::of(ttl) {
            Expiry::Never => {
                let mut cmd = command("SET", key);
                cmd.arg(&value);
                cmd
            }
            Expiry::After(ms) => {
                let mut cmd = command("SET", key);
                cmd.arg(&value).arg("PX").arg(ms);
                cmd
            }
            // Redis rejects `PX 0`; a value that expires at once is no value.
            Expiry::Now => command("DEL", key),
        };
        match self.attempt_write(key, self.shared.link.query::<()>(&cmd)).await? {
            Served::Redis(()) => Ok(()),
            Served::Memory(memory) => memory.set(key, value, ttl).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match self
            .attempt_write(key, self.shared.link.query::<()>(&command("DEL", key)))
            .await?
        {
            Served::Redis(()) => Ok(()),
            Served::Memory(memory) => memory.delete(key).await,
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, CacheError> {
        let found = match self
            .attempt(self.shared.link.query::<i64>(&command("EXISTS", key)))
            .await?
        {
            Served::Redis(count) => count > 0,
            Served::Memory(memory) => memory.exists(key).await?,
        };
        self.shared.lookups.record(found);
        Ok(found)
    }

    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError> {
        let window_ms = match Expiry::of(ttl) {
            Expiry::Never => -1,
            Expiry::Now => 0,
            // At most LONGEST_TTL_MS, so it fits.
            Expiry::After(ms) => i64::try_from(ms).unwrap_or(-1),
        };
        match self
            .attempt_write(key, self.shared.link.increment(key, window_ms))
            .await?
        {
            Served::Redis(count) => Ok(count),
            Served::Memory(memory) => memory.increment(key, ttl).await,
        }
    }

    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError> {
        match self
            .attempt(self.shared.link.query::<i64>(&command("PTTL", key)))
            .await?
        {
            // -2: absent, -1: no expiry.
            Served::Redis(ms) => Ok(u64::try_from(ms).ok().map(Duration::from_millis)),
            Served::Memory(memory) => memory.ttl(key).await,
        }
    }
}
