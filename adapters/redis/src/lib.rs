//! The Redis cache (deadpool-redis): the `Cache` port shared across
//! instances, with a health checker. It talks only to Redis: an unreachable
//! Redis is `CacheError::Unavailable`, which bootstrap's fallback cache
//! (`platform_core::cache::FallbackCache`) answers from memory.

mod cache;
mod health;
mod link;
mod settings;

pub use cache::RedisCache;
pub use health::RedisHealthChecker;
pub use link::RedisConnectError;
pub use settings::RedisSettings;
