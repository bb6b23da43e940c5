//! What the Redis tests share: finding Redis (or skipping loudly), unique
//! key prefixes and a test cache.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::{self, AsyncCommands};
use platform_adapter_redis::{RedisCache, RedisSettings};
use platform_contract::redis_server::skip_or_fail;
use platform_ports::model::SecretString;

/// The Redis the contract runs against.
pub fn redis_url() -> String {
    std::env::var("PLATFORM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A direct client (not the adapter) for looking behind the cache.
pub async fn raw(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    let connect = client.get_multiplexed_async_connection();
    let mut conn = tokio::time::timeout(Duration::from_secs(2), connect).await.ok()?.ok()?;
    let pong: Option<String> = redis::cmd("PING").query_async(&mut conn).await.ok();
    pong.map(|_| conn)
}

/// The shared test Redis, or `None` after a loud skip (a failure in CI).
pub async fn shared_redis() -> Option<(String, redis::aio::MultiplexedConnection)> {
    let url = redis_url();
    match raw(&url).await {
        Some(conn) => Some((url, conn)),
        None => {
            skip_or_fail(&format!("Redis not reachable at {url}"));
            None
        }
    }
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "test:{name}:{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every key under `prefix`, deleted; returns how many there were.
pub async fn delete_prefix(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> usize {
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap();
    if !keys.is_empty() {
        let _: () = conn.del(&keys).await.unwrap();
    }
    keys.len()
}

/// Settings for a test cache at `url`, with a short command timeout.
pub fn settings(url: &str) -> RedisSettings {
    RedisSettings {
        url: SecretString::new(url),
        pool_size: 4,
        command_timeout: Duration::from_millis(300),
    }
}

/// A cache at `url`.
pub fn cache(url: &str) -> RedisCache {
    RedisCache::connect(&settings(url)).unwrap()
}
