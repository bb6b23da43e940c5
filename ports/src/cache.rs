//! The cache port (the seed's `Cache`).

use std::time::Duration;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;

/// What the cache can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The stored value is not an integer (for `increment`).
    #[error("value at key is not an integer")]
    NotAnInteger,
    /// The backend cannot be reached (refused, dropped, or no answer in
    /// time): a fallback may serve instead.
    #[error("cache backend unreachable")]
    Unavailable(#[source] BoxError),
    /// The backend answered with an error.
    #[error("cache backend failed")]
    Backend(#[source] BoxError),
}

/// A key-value cache with TTLs, shared across instances when backed by Redis.
///
/// Keys follow `{scope}:{id}:{what}` (`user:{id}:permissions`,
/// `ratelimit:{key}:{endpoint}`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Cache: Interface {
    /// The value at `key`, `None` when absent or expired.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;

    /// Stores a value; `ttl: None` keeps it until deleted.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<(), CacheError>;

    /// Removes a key (absent keys are fine).
    ///
    /// # Errors
    /// [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn delete(&self, key: &str) -> Result<(), CacheError>;

    /// Whether a live value is at `key`.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn exists(&self, key: &str) -> Result<bool, CacheError>;

    /// Adds one to the integer at `key` (absent counts as 0) and returns the
    /// new value. When the key is created by this call and `ttl` is given, it
    /// expires after `ttl` (a fixed window for rate limits).
    ///
    /// # Errors
    /// [`CacheError::NotAnInteger`], [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn increment(&self, key: &str, ttl: Option<Duration>) -> Result<i64, CacheError>;

    /// The remaining time to live of `key`, `None` when absent or without expiry.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`], [`CacheError::Backend`].
    async fn ttl(&self, key: &str) -> Result<Option<Duration>, CacheError>;
}
