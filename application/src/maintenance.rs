//! Maintenance jobs run on cron schedules.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::jobs::CronJob;

/// Deletes refresh and verification tokens past their expiry (the seed's
/// "cleanup expired tokens (daily)").
pub struct ExpiredTokenCleanup {
    refresh: Arc<dyn RefreshTokenStore>,
    verification: Arc<dyn VerificationTokenStore>,
}

impl ExpiredTokenCleanup {
    /// A cleanup over both token stores.
    pub fn new(refresh: Arc<dyn RefreshTokenStore>, verification: Arc<dyn VerificationTokenStore>) -> Self {
        Self { refresh, verification }
    }
}

#[async_trait]
impl CronJob for ExpiredTokenCleanup {
    async fn run(&self) -> Result<(), BoxError> {
        let now = chrono::Utc::now();
        let refresh = self.refresh.delete_expired(now).await?;
        let verification = self.verification.delete_expired(now).await?;
        tracing::info!(refresh, verification, "deleted expired tokens");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::auth::{MockRefreshTokenStore, MockVerificationTokenStore};

    use super::*;

    #[tokio::test]
    async fn deletes_from_both_stores() {
        let mut refresh = MockRefreshTokenStore::new();
        refresh.expect_delete_expired().times(1).returning(|_| Ok(3));
        let mut verification = MockVerificationTokenStore::new();
        verification.expect_delete_expired().times(1).returning(|_| Ok(1));
        ExpiredTokenCleanup::new(Arc::new(refresh), Arc::new(verification))
            .run()
            .await
            .unwrap();
    }
}
