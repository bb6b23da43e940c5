//! API keys (`api_keys`): looked up by hash across tenants, by id within one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::auth::TokenHash;
use platform_ports::authz::Permission;
use platform_ports::identity::{ApiKey, ApiKeyRepository};
use platform_ports::model::{ApiKeyId, TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::corrupt;
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

macro_rules! key_columns {
    () => {
        "id, tenant_id, name, prefix, key_hash, scopes, created_by, created_at, expires_at, \
         last_used_at, revoked_at"
    };
}

/// An `api_keys` row.
#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    prefix: String,
    key_hash: String,
    scopes: Vec<String>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl KeyRow {
    fn into_key(self) -> Result<ApiKey, StoreError> {
        let scopes = self
            .scopes
            .iter()
            .map(|p| Permission::parse(p).map_err(|e| corrupt("api key scope", e)))
            .collect::<Result<_, _>>()?;
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            tenant_id: TenantId(self.tenant_id),
            name: self.name,
            prefix: self.prefix,
            key_hash: TokenHash(self.key_hash),
            scopes,
            created_by: UserId(self.created_by),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// [`ApiKeyRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgApiKeyRepository {
    db: PgDatabase,
}

impl PgApiKeyRepository {
    /// A key repository over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl ApiKeyRepository for PgApiKeyRepository {
    async fn insert(&self, tx: &mut Transaction, key: &ApiKey) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(key.tenant_id)).await?;
        let scopes: Vec<&str> = key.scopes.iter().map(Permission::as_str).collect();
        let inserted = tx
            .run("api_keys.insert", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO api_keys (",
                    key_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
                ))
                .bind(key.id.0)
                .bind(key.tenant_id.0)
                .bind(key.name.as_str())
                .bind(key.prefix.as_str())
                .bind(key.key_hash.0.as_str())
                .bind(&scopes)
                .bind(key.created_by.0)
                .bind(key.created_at)
                .bind(key.expires_at)
                .bind(key.last_used_at)
                .bind(key.revoked_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(());
        }
        let hash_taken: bool = tx
            .run("api_keys.insert.conflict", |conn| {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys WHERE key_hash = $1)")
                    .bind(key.key_hash.0.as_str())
                    .fetch_one(conn)
            })
            .await?;
        Err(StoreError::Conflict(
            if hash_taken { "key_hash" } else { "api_key_id" }.to_owned(),
        ))
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<KeyRow> = self
            .db
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("api_keys.find_by_hash", |conn| {
                sqlx::query_as(concat!("SELECT ", key_columns!(), " FROM api_keys WHERE key_hash = $1"))
                    .bind(hash.0.as_str())
                    .fetch_optional(conn)
            })
            .await?;
        row.map(KeyRow::into_key).transpose()
    }

    async fn find_by_id(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<KeyRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("api_keys.find_by_id", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM api_keys WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        row.map(KeyRow::into_key).transpose()
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<KeyRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("api_keys.list", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    key_columns!(),
                    " FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"
                ))
                .bind(tenant.0)
                .fetch_all(conn)
            })
            .await?;
        rows.into_iter().map(KeyRow::into_key).collect()
    }

    async fn revoke(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError> {
        // COALESCE keeps the first revocation time on a second call.
        let row: Option<KeyRow> = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("api_keys.revoke", |conn| {
                sqlx::query_as(concat!(
                    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
                     WHERE tenant_id = $1 AND id = $2 RETURNING ",
                    key_columns!()
                ))
                .bind(tenant.0)
                .bind(id.0)
                .bind(at)
                .fetch_optional(conn)
            })
            .await?;
        row.ok_or(StoreError::NotFound)?.into_key()
    }

    async fn touch(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // The condition makes concurrent instances write at most once per interval.
        let mut tx = self.db.scoped(Scope::Tenant(tenant)).await?;
        let result = tx
            .run("api_keys.touch", |conn| {
                sqlx::query(
                    "UPDATE api_keys SET last_used_at = $3 WHERE tenant_id = $1 AND id = $2 \
                     AND (last_used_at IS NULL OR last_used_at < $4)",
                )
                .bind(tenant.0)
                .bind(id.0)
                .bind(at)
                .bind(not_before)
                .execute(conn)
            })
            .await?;
        tx.finish().await?;
        Ok(result.rows_affected() == 1)
    }
}
