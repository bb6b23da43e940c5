//! Refresh tokens: looked up by hash (locking the row), revoked per token,
//! family or user.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::auth::{RefreshTokenRecord, TokenHash};
use platform_ports::model::{RefreshTokenId, TenantId, TokenFamilyId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::found;
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

macro_rules! token_columns {
    () => {
        "id, family_id, user_id, tenant_id, token_hash, created_at, expires_at, \
         rotated_at, replaced_by, revoked_at"
    };
}

/// A `refresh_tokens` row.
#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    tenant_id: Uuid,
    token_hash: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    rotated_at: Option<DateTime<Utc>>,
    replaced_by: Option<Uuid>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for RefreshTokenRecord {
    fn from(row: TokenRow) -> Self {
        Self {
            id: RefreshTokenId(row.id),
            family_id: TokenFamilyId(row.family_id),
            user_id: UserId(row.user_id),
            tenant_id: TenantId(row.tenant_id),
            token_hash: TokenHash(row.token_hash),
            created_at: row.created_at,
            expires_at: row.expires_at,
            rotated_at: row.rotated_at,
            replaced_by: row.replaced_by.map(RefreshTokenId),
            revoked_at: row.revoked_at,
        }
    }
}

/// [`RefreshTokenStore`] over a [`PgDatabase`].
///
/// Revocations stamp only tokens not revoked yet and count those that were
/// still live (neither rotated nor expired), in one statement each.
#[derive(Clone, Debug)]
pub struct PgRefreshTokenStore {
    db: PgDatabase,
}

impl PgRefreshTokenStore {
    /// A token store over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

/// The live count a revoking statement returned; never negative.
fn live_count(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

#[async_trait]
impl RefreshTokenStore for PgRefreshTokenStore {
    async fn insert(&self, tx: &mut Transaction, record: &RefreshTokenRecord) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(record.tenant_id)).await?;
        let inserted = tx
            .run("refresh_tokens.insert", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO refresh_tokens (",
                    token_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
                ))
                .bind(record.id.0)
                .bind(record.family_id.0)
                .bind(record.user_id.0)
                .bind(record.tenant_id.0)
                .bind(record.token_hash.0.as_str())
                .bind(record.created_at)
                .bind(record.expires_at)
                .bind(record.rotated_at)
                .bind(record.replaced_by.map(|r| r.0))
                .bind(record.revoked_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(());
        }
        let hash_taken: bool = tx
            .run("refresh_tokens.insert.conflict", |conn| {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = $1)")
                    .bind(record.token_hash.0.as_str())
                    .fetch_one(conn)
            })
            .await?;
        Err(StoreError::Conflict(
            if hash_taken { "token_hash" } else { "token_id" }.to_owned(),
        ))
    }

    async fn find_for_update(
        &self,
        tx: &mut Transaction,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        // FOR UPDATE makes a concurrent refresh of the same token wait here
        // until this unit of work ends, then read what it left.
        let row: Option<TokenRow> = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.find_for_update", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE"
                ))
                .bind(hash.0.as_str())
                .fetch_optional(conn)
            })
            .await?;
        Ok(row.map(Into::into))
    }

    async fn find_by_id(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row: Option<TokenRow> = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.find_by_id", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    token_columns!(),
                    " FROM refresh_tokens WHERE id = $1"
                ))
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        Ok(row.map(Into::into))
    }

    async fn mark_rotated(
        &self,
        tx: &mut Transaction,
        id: RefreshTokenId,
        successor: RefreshTokenId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.mark_rotated", |conn| {
                sqlx::query("UPDATE refresh_tokens SET rotated_at = $2, replaced_by = $3 WHERE id = $1")
                    .bind(id.0)
                    .bind(at)
                    .bind(successor.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(rows)
    }

    async fn revoke(&self, tx: &mut Transaction, id: RefreshTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        // The first revocation's time is kept.
        let rows = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.revoke", |conn| {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                    .bind(id.0)
                    .bind(at)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(rows)
    }

    async fn revoke_family(
        &self,
        tx: &mut Transaction,
        family: TokenFamilyId,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let live: i64 = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.revoke_family", |conn| {
                sqlx::query_scalar(
                    "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = $2 \
                       WHERE family_id = $1 AND revoked_at IS NULL \
                       RETURNING rotated_at IS NULL AND expires_at > $2 AS live) \
                     SELECT count(*) FILTER (WHERE live) FROM revoked",
                )
                .bind(family.0)
                .bind(at)
                .fetch_one(conn)
            })
            .await?;
        Ok(live_count(live))
    }

    async fn revoke_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        keep_family: Option<TokenFamilyId>,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let live: i64 = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("refresh_tokens.revoke_user", |conn| {
                sqlx::query_scalar(
                    "WITH revoked AS (UPDATE refresh_tokens SET revoked_at = $3 \
                       WHERE user_id = $1 AND family_id IS DISTINCT FROM $2 \
                       AND revoked_at IS NULL \
                       RETURNING rotated_at IS NULL AND expires_at > $3 AS live) \
                     SELECT count(*) FILTER (WHERE live) FROM revoked",
                )
                .bind(user_id.0)
                .bind(keep_family.map(|f| f.0))
                .bind(at)
                .fetch_one(conn)
            })
            .await?;
        Ok(live_count(live))
    }

    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::Maintenance)).await?;
        let done = tx
            .run("refresh_tokens.delete_expired", |conn| {
                sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
                    .bind(before)
                    .execute(conn)
            })
            .await?;
        tx.finish().await?;
        Ok(done.rows_affected())
    }
}
