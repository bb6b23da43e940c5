//! Maintenance jobs run on cron schedules.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::events::Outbox;
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

/// How long published outbox rows are kept for inspection.
pub const OUTBOX_RETENTION_DAYS: i64 = 7;

/// Deletes outbox rows published more than [`OUTBOX_RETENTION_DAYS`] ago.
pub struct PurgeSentOutbox {
    outbox: Arc<dyn Outbox>,
}

impl PurgeSentOutbox {
    /// A purge of `outbox`.
    pub fn new(outbox: Arc<dyn Outbox>) -> Self {
        Self { outbox }
    }
}

#[async_trait]
impl CronJob for PurgeSentOutbox {
    async fn run(&self) -> Result<(), BoxError> {
        let before = chrono::Utc::now() - chrono::Duration::days(OUTBOX_RETENTION_DAYS);
        let purged = self.outbox.purge_sent(before).await?;
        tracing::info!(purged, "purged published outbox rows");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::auth::{MockRefreshTokenStore, MockVerificationTokenStore};
    use platform_ports::events::MockOutbox;

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

    #[tokio::test]
    async fn purges_rows_published_before_the_retention() {
        let mut outbox = MockOutbox::new();
        outbox
            .expect_purge_sent()
            .withf(|before| {
                let age = chrono::Utc::now() - *before;
                age >= chrono::Duration::days(OUTBOX_RETENTION_DAYS)
                    && age < chrono::Duration::days(OUTBOX_RETENTION_DAYS) + chrono::Duration::minutes(1)
            })
            .times(1)
            .returning(|_| Ok(4));
        PurgeSentOutbox::new(Arc::new(outbox)).run().await.unwrap();
    }
}
