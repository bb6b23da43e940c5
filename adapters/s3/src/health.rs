//! The S3 store's health check.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use s3::bucket::Bucket;

/// Up when the bucket answers a one-key listing with these credentials
/// (reachable, existing, and readable: what serving blobs needs).
#[derive(Clone)]
pub struct S3HealthCheck {
    bucket: Arc<Bucket>,
}

impl S3HealthCheck {
    pub(crate) fn new(bucket: Arc<Bucket>) -> Self {
        Self { bucket }
    }
}

#[async_trait]
impl HealthChecker for S3HealthCheck {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        self.bucket
            .list_page(String::new(), None, None, None, Some(1))
            .await
            .map_err(|err| format!("bucket `{}` unreachable: {err}", self.bucket.name()))?;
        Ok(HealthStatus::Up)
    }
}
