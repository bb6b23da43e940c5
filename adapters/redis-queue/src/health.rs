//! [`RedisQueueHealthChecker`]: up while the queue's Redis answers.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use crate::queue::Core;

/// Sends `PING` to the queue's Redis; any failure means jobs can neither be
/// enqueued nor run, so the instance is not ready.
pub struct RedisQueueHealthChecker {
    core: Arc<Core>,
}

impl RedisQueueHealthChecker {
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Self { core }
    }
}

#[async_trait]
impl HealthChecker for RedisQueueHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        self.core.broker.link.ping().await?;
        Ok(HealthStatus::Up)
    }
}
