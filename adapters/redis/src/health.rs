//! [`RedisHealthChecker`]: up on Redis, degraded while the fallback serves.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use crate::fallback::{DEGRADED, Shared};
use crate::link::Failure;

/// Checks the Redis behind a [`RedisCache`](crate::RedisCache).
///
/// On Redis it sends a `PING`, so an outage is noticed (and the fallback
/// takes over) even when no request has touched the cache. While the
/// fallback serves it reports degraded without probing: the cache's own
/// retry task does that.
pub struct RedisHealthChecker {
    shared: Arc<Shared>,
}

impl RedisHealthChecker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl HealthChecker for RedisHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        if self.shared.on_fallback() {
            return Ok(HealthStatus::Degraded(DEGRADED.to_owned()));
        }
        match self.shared.link.ping().await {
            Ok(()) => Ok(HealthStatus::Up),
            Err(Failure::Unreachable(cause)) => {
                self.shared.fail_over(&cause);
                Ok(HealthStatus::Degraded(DEGRADED.to_owned()))
            }
            Err(Failure::Refused(err)) => Err(Box::new(err)),
        }
    }
}
