//! The Redis cache (deadpool-redis): the `Cache` port shared across
//! instances, falling back to the in-memory cache while Redis is unreachable,
//! with a health checker that reports the fallback as degraded.

mod cache;
mod fallback;
mod health;
mod link;
mod metrics;
mod settings;

pub use cache::RedisCache;
pub use health::RedisHealthChecker;
pub use link::RedisConnectError;
pub use settings::RedisSettings;
