//! The processed-events record of idempotent consumers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::events::ProcessedEvents;
use platform_ports::model::EventId;
use platform_ports::persistence::Transaction;

use crate::database::PgDatabase;
use crate::uow::PgTx;

/// [`ProcessedEvents`] over a [`PgDatabase`] (`processed_events` table).
///
/// `mark_processed` is an `INSERT … ON CONFLICT DO NOTHING` inside the
/// handler's transaction: the primary key makes a second transaction that
/// records the same pair wait until the first commits (then it inserts
/// nothing: a duplicate) or rolls back (then it inserts: the first never
/// happened). So the effect written in that transaction happens once, even
/// when two consumers handle the same event at the same moment.
#[derive(Clone, Debug)]
pub struct PgProcessedEvents {
    db: PgDatabase,
}

impl PgProcessedEvents {
    /// A record over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ProcessedEvents for PgProcessedEvents {
    async fn mark_processed(
        &self,
        tx: &mut Transaction,
        subscriber: &str,
        event_id: EventId,
    ) -> Result<bool, StoreError> {
        let done = PgTx::of(tx)?
            .run("processed_events.mark", |conn| {
                sqlx::query(
                    "INSERT INTO processed_events (subscriber, event_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(subscriber)
                .bind(event_id.0)
                .execute(conn)
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn is_processed(&self, subscriber: &str, event_id: EventId) -> Result<bool, StoreError> {
        self.db
            .run(
                "processed_events.is_processed",
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM processed_events WHERE subscriber = $1 AND event_id = $2)",
                )
                .bind(subscriber)
                .bind(event_id.0)
                .fetch_one(self.db.pool()),
            )
            .await
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = self
            .db
            .run(
                "processed_events.purge",
                sqlx::query("DELETE FROM processed_events WHERE processed_at < $1")
                    .bind(before)
                    .execute(self.db.pool()),
            )
            .await?;
        Ok(done.rows_affected())
    }
}
