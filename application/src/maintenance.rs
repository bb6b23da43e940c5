//! Maintenance jobs run on cron schedules.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::audit::Auditor;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::events::{Outbox, ProcessedEvents};
use platform_ports::jobs::CronJob;
use shaku::{Component, Interface};

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

/// Signs a checkpoint of every audit chain head that moved (the audit
/// module's cron job): what lets verification notice a removed tail.
pub struct AuditCheckpoints {
    auditor: Arc<dyn Auditor>,
}

impl AuditCheckpoints {
    /// Checkpoints through `auditor`.
    pub fn new(auditor: Arc<dyn Auditor>) -> Self {
        Self { auditor }
    }
}

#[async_trait]
impl CronJob for AuditCheckpoints {
    async fn run(&self) -> Result<(), BoxError> {
        let written = self.auditor.checkpoint().await?;
        tracing::info!(written, "signed audit chain checkpoints");
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

/// How long the events module keeps what it needs no more.
pub trait EventRetention: Interface {
    /// How long a subscriber's processed-event record is kept
    /// (`event_bus.processed_retention`): longer than any redelivery the bus
    /// can still make, or a late duplicate would have its effect twice.
    fn processed_events(&self) -> Duration;
}

/// The retention the configuration sets.
#[derive(Component, Clone, Copy, Debug)]
#[shaku(interface = EventRetention)]
pub struct EventRetentionPolicy {
    #[shaku(default = DEFAULT_PROCESSED_RETENTION)]
    processed_events: Duration,
}

/// Kafka's default log retention: a redelivery older than this cannot come.
pub const DEFAULT_PROCESSED_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl EventRetentionPolicy {
    /// A policy keeping processed-event records for `processed_events`.
    #[must_use]
    pub fn new(processed_events: Duration) -> Self {
        Self { processed_events }
    }
}

impl EventRetention for EventRetentionPolicy {
    fn processed_events(&self) -> Duration {
        self.processed_events
    }
}

/// Forgets processed-event records older than the retention.
pub struct PurgeProcessedEvents {
    processed: Arc<dyn ProcessedEvents>,
    retention: Duration,
}

impl PurgeProcessedEvents {
    /// A purge of `processed` keeping `retention`.
    pub fn new(processed: Arc<dyn ProcessedEvents>, retention: Duration) -> Self {
        Self { processed, retention }
    }
}

#[async_trait]
impl CronJob for PurgeProcessedEvents {
    async fn run(&self) -> Result<(), BoxError> {
        let retention = chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::MAX);
        // A retention too long to subtract keeps everything.
        let Some(before) = chrono::Utc::now().checked_sub_signed(retention) else {
            return Ok(());
        };
        let purged = self.processed.purge(before).await?;
        tracing::info!(purged, "purged processed-event records");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::auth::{MockRefreshTokenStore, MockVerificationTokenStore};
    use platform_ports::events::{MockOutbox, MockProcessedEvents};

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

    #[tokio::test]
    async fn purges_processed_records_older_than_the_retention() {
        let mut processed = MockProcessedEvents::new();
        processed
            .expect_purge()
            .withf(|before| {
                let age = chrono::Utc::now() - *before;
                age >= chrono::Duration::hours(36) && age < chrono::Duration::hours(36) + chrono::Duration::minutes(1)
            })
            .times(1)
            .returning(|_| Ok(2));
        PurgeProcessedEvents::new(Arc::new(processed), Duration::from_secs(36 * 3600))
            .run()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_endless_retention_purges_nothing() {
        let mut processed = MockProcessedEvents::new();
        processed.expect_purge().never();
        PurgeProcessedEvents::new(Arc::new(processed), Duration::MAX)
            .run()
            .await
            .unwrap();
    }
}
