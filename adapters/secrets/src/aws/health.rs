//! Secrets Manager's health: the endpoint answers and our credentials may
//! describe the first configured secret (metadata only; no value is read).

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};
use serde_json::json;

use super::SecretsManagerClient;

/// Checks one Secrets Manager source with `DescribeSecret` (needs the
/// `secretsmanager:DescribeSecret` permission). A failure stops rotation, not
/// requests, so it reports `Degraded` and readiness holds.
#[derive(Clone, Debug)]
pub struct AwsSecretsManagerHealthChecker {
    client: SecretsManagerClient,
    secret_id: String,
}

impl AwsSecretsManagerHealthChecker {
    pub(crate) fn new(client: SecretsManagerClient, secret_id: String) -> Self {
        Self { client, secret_id }
    }
}

#[async_trait]
impl HealthChecker for AwsSecretsManagerHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let body = json!({ "SecretId": self.secret_id });
        Ok(match self.client.call("DescribeSecret", &body).await {
            Ok(_) => HealthStatus::Up,
            Err(err) => HealthStatus::Degraded(format!("aws secrets manager: {err}; secrets cannot be refreshed")),
        })
    }
}
