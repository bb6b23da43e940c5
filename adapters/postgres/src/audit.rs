//! The append-only audit log (a trigger refuses UPDATE and DELETE).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter};
use platform_ports::model::{AuditId, Page, PageRequest, TenantId, UserId};
use platform_ports::persistence::Transaction;
use sqlx::types::Json;
use uuid::Uuid;

use crate::cursor::{decode_time_id, encode_time_id, fetch_limit, page};
use crate::database::PgDatabase;
use crate::uow::PgTx;

/// Names audit cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "audit";

macro_rules! audit_columns {
    () => {
        "id, tenant_id, actor_id, action, target_id, metadata, occurred_at, request_id, ip, user_agent"
    };
}

macro_rules! query_audit {
    ($before:literal) => {
        concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE tenant_id = $1",
            // Open ends become infinities so the bounds stay index ranges.
            " AND occurred_at >= COALESCE($2::timestamptz, '-infinity')",
            " AND occurred_at < COALESCE($3::timestamptz, 'infinity')",
            " AND ($4::uuid IS NULL OR actor_id = $4)",
            " AND ($5::text IS NULL OR action = $5)",
            " AND ($6::text IS NULL OR target_id = $6)",
            $before,
            " ORDER BY occurred_at DESC, id DESC LIMIT $7"
        )
    };
}

const QUERY_FIRST: &str = query_audit!("");
const QUERY_BEFORE: &str = query_audit!(" AND (occurred_at, id) < ($8, $9)");

/// An `audit_log` row.
#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    tenant_id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    target_id: Option<String>,
    metadata: Json<BTreeMap<String, serde_json::Value>>,
    occurred_at: DateTime<Utc>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(row: AuditRow) -> Self {
        Self {
            id: AuditId(row.id),
            tenant_id: TenantId(row.tenant_id),
            actor_id: row.actor_id.map(UserId),
            action: row.action,
            target_id: row.target_id,
            metadata: row.metadata.0,
            occurred_at: row.occurred_at,
            request_id: row.request_id,
            ip: row.ip,
            user_agent: row.user_agent,
        }
    }
}

/// [`AuditStore`] over a [`PgDatabase`].
///
/// A batch is one multi-row `INSERT … SELECT FROM UNNEST(…)`: one statement
/// and one round trip whatever its size, and all or nothing.
#[derive(Clone, Debug)]
pub struct PgAuditStore {
    db: PgDatabase,
}

impl PgAuditStore {
    /// An audit store over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AuditStore for PgAuditStore {
    async fn append(&self, tx: &mut Transaction, entry: &AuditEntry) -> Result<(), StoreError> {
        let inserted = PgTx::of(tx)?
            .run("audit.append", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO audit_log (",
                    audit_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
                ))
                .bind(entry.id.0)
                .bind(entry.tenant_id.0)
                .bind(entry.actor_id.map(|a| a.0))
                .bind(entry.action.as_str())
                .bind(entry.target_id.as_deref())
                .bind(Json(&entry.metadata))
                .bind(entry.occurred_at)
                .bind(entry.request_id.as_deref())
                .bind(entry.ip.as_deref())
                .bind(entry.user_agent.as_deref())
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("audit_id".to_owned()));
        }
        Ok(())
    }

    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&AuditEntry) -> Option<&str>| -> Vec<Option<&str>> { entries.iter().map(f).collect() };
        let query = sqlx::query(concat!(
            "INSERT INTO audit_log (",
            audit_columns!(),
            ") SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], ",
            "$6::jsonb[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])"
        ))
        .bind(entries.iter().map(|e| e.id.0).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.tenant_id.0).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.actor_id.map(|a| a.0)).collect::<Vec<_>>())
        .bind(column(|e| Some(e.action.as_str())))
        .bind(column(|e| e.target_id.as_deref()))
        .bind(entries.iter().map(|e| Json(&e.metadata)).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(column(|e| e.request_id.as_deref()))
        .bind(column(|e| e.ip.as_deref()))
        .bind(column(|e| e.user_agent.as_deref()));
        self.db.run("audit.append_batch", query.execute(self.db.pool())).await?;
        Ok(())
    }

    async fn query(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        page_request: &PageRequest,
    ) -> Result<Page<AuditEntry>, StoreError> {
        let before = page_request
            .cursor
            .as_deref()
            .map(|cursor| decode_time_id(CURSOR_KIND, cursor))
            .transpose()?;
        let query = sqlx::query_as(if before.is_some() { QUERY_BEFORE } else { QUERY_FIRST })
            .bind(tenant.0)
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.actor_id.map(|a| a.0))
            .bind(filter.action.as_deref())
            .bind(filter.target_id.as_deref())
            .bind(fetch_limit(page_request.limit));
        let query = match before {
            Some((at, id)) => query.bind(at).bind(id),
            None => query,
        };
        let rows: Vec<AuditRow> = self.db.run("audit.query", query.fetch_all(self.db.pool())).await?;
        let entries = rows.into_iter().map(AuditEntry::from).collect();
        Ok(page(entries, page_request.limit, |entry| {
            encode_time_id(CURSOR_KIND, entry.occurred_at, entry.id.0)
        }))
    }
}
