//! [`RedisHealthChecker`]: up while Redis answers a `PING`.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use crate::link::Link;

/// Checks the Redis behind a [`RedisCache`](crate::RedisCache): up when it
/// answers a `PING` within the command timeout, down (an error) otherwise.
/// Behind a fallback cache, check the fallback cache instead: it reports
/// the outage as degraded.
pub struct RedisHealthChecker {
    link: Arc<Link>,
}

impl RedisHealthChecker {
    pub(crate) fn new(link: Arc<Link>) -> Self {
        Self { link }
    }
}

#[async_trait]
impl HealthChecker for RedisHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        self.link.ping().await.map_err(|err| Box::new(err) as BoxError)?;
        Ok(HealthStatus::Up)
    }
}
