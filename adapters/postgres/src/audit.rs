//! The append-only audit log (a trigger refuses UPDATE and DELETE), every
//! entry a link of its tenant's hash chain (see [`crate::audit_chain`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter, ChainHead, ChainedEntry, Checkpoint};
use platform_ports::model::{AuditId, Page, PageRequest, TenantId, UserId};
use platform_ports::persistence::Transaction;
use sqlx::types::Json;
use uuid::Uuid;

use crate::audit_chain::{self as chain, LinkRow};
use crate::cursor::{decode_time_id, encode_time_id, fetch_limit, page};
use crate::database::PgDatabase;
use crate::scope::{Bypass, Scope};
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
pub(crate) struct AuditRow {
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
        // The tenant's head stays locked until the unit of work ends: use
        // cases append their entry last, just before they commit.
        let inserted = PgTx::of(tx)?
            .scoped(Scope::Tenant(entry.tenant_id))
            .await?
            .run("audit.append", |conn| {
                chain::append_linked(conn, std::slice::from_ref(entry))
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict("audit_id".to_owned()));
        }
        Ok(())
    }

    async fn append_batch(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // One transaction: lock the heads, insert and move them, commit.
        // A batch holds entries of several tenants, hence the bypass (which
        // reaches only the audit tables).
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::AuditWriter)).await?;
        let inserted = tx
            .run("audit.append_batch", |conn| chain::append_linked(conn, entries))
            .await?;
        if inserted != entries.len() {
            // Dropping the transaction rolls it back.
            return Err(StoreError::Conflict("audit_id".to_owned()));
        }
        tx.finish().await
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
        let rows: Vec<AuditRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("audit.query", |conn| query.fetch_all(conn))
            .await?;
        let entries = rows.into_iter().map(AuditEntry::from).collect();
        Ok(page(entries, page_request.limit, |entry| {
            encode_time_id(CURSOR_KIND, entry.occurred_at, entry.id.0)
        }))
    }

    async fn chain(&self, tenant: TenantId, after: u64, limit: u32) -> Result<Vec<ChainedEntry>, StoreError> {
        let query = sqlx::query_as(chain::CHAIN)
            .bind(tenant.0)
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit));
        let rows: Vec<LinkRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("audit.chain", |conn| query.fetch_all(conn))
            .await?;
        rows.into_iter().map(LinkRow::into_link).collect()
    }

    async fn chain_head(&self, tenant: TenantId) -> Result<Option<ChainHead>, StoreError> {
        let query = sqlx::query_as(chain::HEAD).bind(tenant.0);
        let row = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("audit.chain_head", |conn| query.fetch_optional(conn))
            .await?;
        chain::head(tenant, row)
    }

    async fn chained_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let query = sqlx::query_scalar(chain::TENANTS);
        let rows: Vec<Uuid> = self
            .db
            .scoped(Scope::Bypass(Bypass::Maintenance))
            .await?
            .run("audit.chained_tenants", |conn| query.fetch_all(conn))
            .await?;
        Ok(rows.into_iter().map(TenantId).collect())
    }

    async fn save_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let (tenant, seq, hash, mac, signed_at) = chain::checkpoint_params(checkpoint);
        let query = sqlx::query(chain::SAVE_CHECKPOINT)
            .bind(tenant)
            .bind(seq)
            .bind(hash)
            .bind(mac)
            .bind(signed_at);
        let mut tx = self.db.scoped(Scope::Tenant(checkpoint.head.tenant_id)).await?;
        tx.run("audit.save_checkpoint", |conn| query.execute(conn)).await?;
        tx.finish().await
    }

    async fn latest_checkpoint(&self, tenant: TenantId) -> Result<Option<Checkpoint>, StoreError> {
        let query = sqlx::query_as(chain::LATEST_CHECKPOINT).bind(tenant.0);
        let row = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("audit.latest_checkpoint", |conn| query.fetch_optional(conn))
            .await?;
        chain::checkpoint(tenant, row)
    }
}
