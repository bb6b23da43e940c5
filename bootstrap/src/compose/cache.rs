//! The cache (`cache.driver`), namespaced when `cache.namespace` is set.

use std::sync::Arc;
use std::time::Duration;

use platform_adapter_memory::MemoryCache;
use platform_adapter_redis::{RedisCache, RedisSettings};
use platform_core::cache::{FallbackCache, FallbackSettings, NamespacedCache};
use platform_ports::cache::Cache;
use platform_ports::metrics::Metrics;

use super::{Built, Parts, serve};
use crate::config::{CacheDriver, Settings};

/// The cache port.
pub type CachePort = Box<dyn Cache>;

/// Builds the configured cache. Redis is composed with a process-local
/// fallback that serves while Redis is unreachable (reported as degraded on
/// `/ready`) and is dropped when Redis returns.
///
/// # Errors
/// When `redis.url` is not a Redis URL.
pub fn build(settings: &Settings, metrics: &Arc<dyn Metrics>) -> anyhow::Result<Built<CachePort>> {
    let mut parts = Parts::default();
    let base = match settings.cache.driver {
        CacheDriver::Memory => serve!(parts, Cache, MemoryCache::new()),
        CacheDriver::Redis => {
            let r = &settings.redis;
            let redis_settings = RedisSettings {
                url: r.url.clone(),
                pool_size: usize::try_from(r.pool_size).unwrap_or(16),
                command_timeout: r.command_timeout,
            };
            let redis = RedisCache::connect(&redis_settings).map_err(|e| anyhow::anyhow!("redis.url: {e}"))?;
            let label = format!(
                "platform_core::FallbackCache({}, {})",
                super::label_of(&redis),
                super::type_label(std::any::type_name::<MemoryCache>())
            );
            let cache = FallbackCache::new(
                Arc::new(redis),
                || Arc::new(MemoryCache::new()),
                FallbackSettings {
                    primary: redis_settings.display_url(),
                    retry_interval: r.retry_interval.max(Duration::from_millis(100)),
                },
            )
            .with_metrics(metrics.clone());
            parts.check("redis", Arc::new(cache.health_checker()));
            serve!(parts, Cache, cache, label)
        }
    };
    let ports = if settings.cache.namespace.is_empty() {
        base
    } else {
        // The wrapper serves the port now: say what it wraps.
        let inner = parts.served.pop().map(|s| s.adapter).unwrap_or_default();
        let label = format!("platform_core::NamespacedCache({inner})");
        serve!(
            parts,
            Cache,
            NamespacedCache::new(Arc::from(base), &settings.cache.namespace),
            label
        )
    };
    Ok(Built { ports, parts })
}
