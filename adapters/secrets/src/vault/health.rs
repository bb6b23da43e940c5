//! Vault's health as the platform sees it: the server answers unsealed and
//! our token is (or can again be made) valid.

use async_trait::async_trait;
use http::{Method, StatusCode};
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use super::VaultSecretSource;

/// Checks one Vault source. Secrets are read at start-up and on refresh, so a
/// store that is down stops rotation, not requests: it reports `Degraded`,
/// never down, and readiness holds.
#[derive(Clone, Debug)]
pub struct VaultHealthChecker {
    source: VaultSecretSource,
}

impl VaultHealthChecker {
    pub(crate) fn new(source: VaultSecretSource) -> Self {
        Self { source }
    }

    async fn probe(&self) -> Result<(), String> {
        // `sys/health` needs no token: 200 active, 429 standby (serves reads).
        let answer = self
            .source
            .api()
            .send(Method::GET, "sys/health", None, None)
            .await
            .map_err(|e| e.to_string())?;
        match answer.status {
            StatusCode::OK | StatusCode::TOO_MANY_REQUESTS => {}
            StatusCode::SERVICE_UNAVAILABLE => return Err("sealed".to_owned()),
            status => return Err(format!("sys/health answered {status}")),
        }
        self.source.token_ok().await.map_err(|e| format!("token: {e}"))
    }
}

#[async_trait]
impl HealthChecker for VaultHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        Ok(match self.probe().await {
            Ok(()) => HealthStatus::Up,
            Err(why) => HealthStatus::Degraded(format!("vault: {why}; secrets cannot be refreshed")),
        })
    }
}
