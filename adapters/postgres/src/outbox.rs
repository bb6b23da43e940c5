//! The transactional outbox and the claims its relays make.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::events::Outbox;
use platform_ports::events::{Event, OutboxMessage};
use platform_ports::model::OutboxId;
use platform_ports::persistence::Transaction;
use sqlx::types::Json;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

/// Leases are capped so `now + lease` stays a valid timestamp (a century
/// is "never ends" for any relay).
const MAX_LEASE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Claims the due messages in commit order and leases them, in one statement.
///
/// A message is due when it is unsent, not leased and not waiting for a
/// retry, and no older unsent message of its aggregate is leased or waiting:
/// an aggregate's events never overtake each other. `SKIP LOCKED` passes over
/// rows another session is marking sent or failed instead of waiting for it.
const CLAIM: &str = "\
WITH due AS (
    SELECT o.seq FROM outbox o
    WHERE o.sent_at IS NULL
      AND (o.locked_until IS NULL OR o.locked_until <= statement_timestamp())
      AND (o.retry_at IS NULL OR o.retry_at <= statement_timestamp())
      AND NOT EXISTS (
          SELECT 1 FROM outbox b
          WHERE b.aggregate_id = o.aggregate_id AND b.seq < o.seq AND b.sent_at IS NULL
            AND (b.locked_until > statement_timestamp() OR b.retry_at > statement_timestamp()))
    ORDER BY o.seq
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE outbox SET locked_until = statement_timestamp() + $2 * INTERVAL '1 microsecond'
FROM due WHERE outbox.seq = due.seq
RETURNING outbox.seq, outbox.id, outbox.topic, outbox.event, outbox.attempts";

/// A claimed `outbox` row.
#[derive(sqlx::FromRow)]
struct ClaimedRow {
    seq: i64,
    id: Uuid,
    topic: String,
    event: Json<Event>,
    attempts: i32,
}

/// [`Outbox`] over a [`PgDatabase`].
///
/// Leases and the retry times handed to `mark_failed` are compared with the
/// database's clock, the one clock every instance shares. Sent messages keep
/// their row (stamped `sent_at`) until [`Outbox::purge_sent`](platform_ports::events::Outbox::purge_sent) removes them.
#[derive(Clone, Debug)]
pub struct PgOutbox {
    db: PgDatabase,
}

impl PgOutbox {
    /// An outbox over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }

    /// The error of the message's last failed attempt, while it is unsent.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub async fn last_error(&self, id: OutboxId) -> Result<Option<String>, StoreError> {
        let error: Option<Option<String>> = self
            .db
            .scoped(Scope::Bypass(Bypass::OutboxRelay))
            .await?
            .run("outbox.last_error", |conn| {
                sqlx::query_scalar("SELECT last_error FROM outbox WHERE id = $1 AND sent_at IS NULL")
                    .bind(id.0)
                    .fetch_optional(conn)
            })
            .await?;
        Ok(error.flatten())
    }
}

#[async_trait]
impl Outbox for PgOutbox {
    async fn enqueue(&self, tx: &mut Transaction, topic: &str, event: &Event) -> Result<(), StoreError> {
        PgTx::of(tx)?
            .scoped(Scope::Tenant(event.tenant_id))
            .await?
            .run("outbox.enqueue", |conn| {
                sqlx::query(
                    "INSERT INTO outbox (id, tenant_id, topic, event_id, aggregate_id, event) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(OutboxId::new().0)
                .bind(event.tenant_id.0)
                .bind(topic)
                .bind(event.id.0)
                .bind(event.aggregate_id.as_deref())
                .bind(Json(event))
                .execute(conn)
            })
            .await?;
        Ok(())
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let lease_micros = i64::try_from(lease.min(MAX_LEASE).as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::OutboxRelay)).await?;
        // Claims take turns (the lock ends with the claim's transaction).
        // Without it, a relay could skip an aggregate's head that another
        // relay has locked but not leased yet, and claim the next event of
        // that aggregate ahead of it. Claims are two short statements, so
        // taking turns costs relays nothing they would notice.
        tx.run("outbox.claim.lock", |conn| {
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtext('platform.outbox.claim'), \
                 hashtext(current_schema()))",
            )
            .execute(conn)
        })
        .await?;
        let mut rows: Vec<ClaimedRow> = tx
            .run("outbox.claim", |conn| {
                sqlx::query_as(CLAIM).bind(limit).bind(lease_micros).fetch_all(conn)
            })
            .await?;
        tx.finish().await?;
        rows.sort_by_key(|row| row.seq);
        Ok(rows
            .into_iter()
            .map(|row| OutboxMessage {
                id: OutboxId(row.id),
                topic: row.topic,
                event: row.event.0,
                attempts: u32::try_from(row.attempts).unwrap_or(0),
            })
            .collect())
    }

    async fn mark_sent(&self, ids: &[OutboxId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::OutboxRelay)).await?;
        tx.run("outbox.mark_sent", |conn| {
            sqlx::query(
                "UPDATE outbox SET sent_at = statement_timestamp(), locked_until = NULL \
                     WHERE id = ANY($1) AND sent_at IS NULL",
            )
            .bind(ids)
            .execute(conn)
        })
        .await?;
        tx.finish().await?;
        Ok(())
    }

    async fn mark_failed(&self, id: OutboxId, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::OutboxRelay)).await?;
        tx.run("outbox.mark_failed", |conn| {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, retry_at = $3, \
                     locked_until = NULL WHERE id = $1 AND sent_at IS NULL",
            )
            .bind(id.0)
            .bind(error)
            .bind(retry_at)
            .execute(conn)
        })
        .await?;
        tx.finish().await?;
        Ok(())
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        let count: i64 = self
            .db
            .scoped(Scope::Bypass(Bypass::OutboxRelay))
            .await?
            .run("outbox.pending", |conn| {
                sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetch_one(conn)
            })
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn purge_sent(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::OutboxRelay)).await?;
        let done = tx
            .run("outbox.purge_sent", |conn| {
                sqlx::query("DELETE FROM outbox WHERE sent_at < $1")
                    .bind(before)
                    .execute(conn)
            })
            .await?;
        tx.finish().await?;
        Ok(done.rows_affected())
    }
}
