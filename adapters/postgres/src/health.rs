//! Readiness: can a pooled connection answer `SELECT 1` in time?

use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::health::{HealthChecker, HealthStatus};

use crate::database::PgDatabase;

/// Down when PostgreSQL does not answer `SELECT 1` within the timeout.
///
/// It probes through the shared pool, so it also notices an exhausted pool;
/// and since the pool replaces broken connections itself, the check passes
/// again as soon as PostgreSQL is back, without a restart.
#[derive(Clone, Debug)]
pub struct PgHealthChecker {
    db: PgDatabase,
    timeout: Duration,
}

impl PgHealthChecker {
    /// A checker over `db` that gives up after `timeout`.
    #[must_use]
    pub fn new(db: PgDatabase, timeout: Duration) -> Self {
        Self { db, timeout }
    }
}

#[async_trait]
impl HealthChecker for PgHealthChecker {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        let probe = self.db.run(
            "health.ping",
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(self.db.pool()),
        );
        match tokio::time::timeout(self.timeout, probe).await {
            Ok(Ok(_)) => Ok(HealthStatus::Up),
            Ok(Err(err)) => Err(Box::new(err)),
            Err(_) => Err(format!("PostgreSQL did not answer within {} ms", self.timeout.as_millis()).into()),
        }
    }
}
