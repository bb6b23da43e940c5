//! [`KafkaHealthChecker`]: up when a broker answers a metadata request in time.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use crate::bus::Shared;

/// Checks that the brokers answer (cluster metadata within `metadata_timeout`).
pub struct KafkaHealthChecker {
    shared: Arc<Shared>,
}

impl KafkaHealthChecker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait]
impl HealthChecker for KafkaHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        self.shared
            .topics
            .existing(self.shared.settings.metadata_timeout)
            .await
            .map(|_| HealthStatus::Up)
            .map_err(Into::into)
    }
}
