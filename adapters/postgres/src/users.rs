//! Users, unique by normalized email within a tenant.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::identity::UserRepository;
use platform_ports::identity::{DigestRecipient, PasswordHash, User, UserFilter};
use platform_ports::model::{Email, Page, PageRequest, TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::cursor::{decode_id, encode_id, fetch_limit, page};
use crate::database::PgDatabase;
use crate::error::{corrupt, found};
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

/// Names user-list cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "user";

macro_rules! user_columns {
    () => {
        "id, tenant_id, email, display_name, password_hash, email_verified, digest, created_at, updated_at"
    };
}

macro_rules! list_users {
    ($after:literal) => {
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.tenant_id = $1",
            " AND ($2::text IS NULL OR strpos(u.email, $2) > 0)",
            " AND ($3::boolean IS NULL OR u.email_verified = $3)",
            " AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM user_roles r",
            " WHERE r.tenant_id = u.tenant_id AND r.user_id = u.id AND r.role_id = $4))",
            $after,
            " ORDER BY u.id LIMIT $5"
        )
    };
}

/// Ids are v7 UUIDs, so id order is creation order (oldest first).
const LIST_FIRST: &str = list_users!("");
const LIST_AFTER: &str = list_users!(" AND u.id > $6");

/// A `users` row.
#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    tenant_id: Uuid,
    email: String,
    display_name: Option<String>,
    password_hash: String,
    email_verified: bool,
    digest: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl UserRow {
    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId(self.id),
            tenant_id: TenantId(self.tenant_id),
            email: Email::parse(&self.email).map_err(|e| corrupt("email", e))?,
            display_name: self.display_name,
            password_hash: PasswordHash(self.password_hash),
            email_verified: self.email_verified,
            digest: self.digest,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A `users` row with its digest bookkeeping.
#[derive(sqlx::FromRow)]
struct RecipientRow {
    #[sqlx(flatten)]
    user: UserRow,
    digest_period_end: Option<DateTime<Utc>>,
}

/// [`UserRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgUserRepository {
    db: PgDatabase,
}

impl PgUserRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn find_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.find_by_id", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        row.map(UserRow::into_user).transpose()
    }

    async fn find_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.find_by_email", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users WHERE tenant_id = $1 AND email = $2"
                ))
                .bind(tenant.0)
                .bind(email.as_str())
                .fetch_optional(conn)
            })
            .await?;
        row.map(UserRow::into_user).transpose()
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &UserFilter,
        page_request: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let after = page_request
            .cursor
            .as_deref()
            .map(|c| decode_id(CURSOR_KIND, c))
            .transpose()?;
        // Emails are stored lower-cased, so lower-casing the needle makes the
        // match case-insensitive (as in the memory adapter: Rust's rules).
        let needle = filter.email_contains.as_deref().map(str::to_lowercase);
        let query = sqlx::query_as(if after.is_some() { LIST_AFTER } else { LIST_FIRST })
            .bind(tenant.0)
            .bind(needle)
            .bind(filter.email_verified)
            .bind(filter.role_id.map(|r| r.0))
            .bind(fetch_limit(page_request.limit));
        let query = match after {
            Some(after) => query.bind(after),
            None => query,
        };
        let rows: Vec<UserRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.list", |conn| query.fetch_all(conn))
            .await?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(users, page_request.limit, |user| {
            encode_id(CURSOR_KIND, user.id.0)
        }))
    }

    async fn create(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(user.tenant_id)).await?;
        // ON CONFLICT keeps the transaction usable after a clash, as the
        // memory adapter's is; which rule clashed is asked only then.
        let inserted = tx
            .run("users.create", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO users (",
                    user_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING"
                ))
                .bind(user.id.0)
                .bind(user.tenant_id.0)
                .bind(user.email.as_str())
                .bind(user.display_name.as_deref())
                .bind(user.password_hash.0.as_str())
                .bind(user.email_verified)
                .bind(user.digest)
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 1 {
            return Ok(());
        }
        let id_taken: bool = tx
            .run("users.create.conflict", |conn| {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
                    .bind(user.id.0)
                    .fetch_one(conn)
            })
            .await?;
        Err(StoreError::Conflict(
            if id_taken { "user_id" } else { "email" }.to_owned(),
        ))
    }

    async fn update(&self, tx: &mut Transaction, user: &User) -> Result<(), StoreError> {
        let tx = PgTx::of(tx)?.scoped(Scope::Tenant(user.tenant_id)).await?;
        // The email check rides in the same statement; a racing writer that
        // takes the email after it still hits the unique index.
        let updated = tx
            .run("users.update", |conn| {
                sqlx::query(
                    "UPDATE users SET email = $3, display_name = $4, password_hash = $5, \
                     email_verified = $6, digest = $9, created_at = $7, updated_at = $8 \
                     WHERE tenant_id = $1 AND id = $2 AND NOT EXISTS (SELECT 1 FROM users o \
                     WHERE o.tenant_id = $1 AND o.email = $3 AND o.id <> $2)",
                )
                .bind(user.tenant_id.0)
                .bind(user.id.0)
                .bind(user.email.as_str())
                .bind(user.display_name.as_deref())
                .bind(user.password_hash.0.as_str())
                .bind(user.email_verified)
                .bind(user.created_at)
                .bind(user.updated_at)
                .bind(user.digest)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if updated == 1 {
            return Ok(());
        }
        let exists: bool = tx
            .run("users.update.conflict", |conn| {
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2)")
                    .bind(user.tenant_id.0)
                    .bind(user.id.0)
                    .fetch_one(conn)
            })
            .await?;
        Err(if exists {
            StoreError::Conflict("email".to_owned())
        } else {
            StoreError::NotFound
        })
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
        // Role assignments go with the user (ON DELETE CASCADE).
        let deleted = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.delete", |conn| {
                sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(deleted)
    }

    async fn digest_tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        // The one digest read that crosses tenants: which tenants have
        // anyone opted in (ids only; each tenant's users are then read in
        // its own scope).
        let tenants: Vec<Uuid> = self
            .db
            .scoped(Scope::Bypass(Bypass::Digest))
            .await?
            .run("users.digest_tenants", |conn| {
                sqlx::query_scalar("SELECT DISTINCT tenant_id FROM users WHERE digest ORDER BY tenant_id")
                    .fetch_all(conn)
            })
            .await?;
        Ok(tenants.into_iter().map(TenantId).collect())
    }

    async fn digest_recipients(
        &self,
        tenant: TenantId,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<DigestRecipient>, StoreError> {
        let rows: Vec<RecipientRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.digest_recipients", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    user_columns!(),
                    ", digest_period_end FROM users WHERE tenant_id = $1 AND digest",
                    " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
                ))
                .bind(tenant.0)
                .bind(after.map(|id| id.0))
                .bind(i64::from(limit))
                .fetch_all(conn)
            })
            .await?;
        rows.into_iter()
            .map(|row| {
                Ok(DigestRecipient {
                    user: row.user.into_user()?,
                    last_period_end: row.digest_period_end,
                })
            })
            .collect()
    }

    async fn record_digest(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: UserId,
        period_end: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let updated = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("users.record_digest", |conn| {
                sqlx::query(
                    "UPDATE users SET digest_period_end = GREATEST(digest_period_end, $3) \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant.0)
                .bind(id.0)
                .bind(period_end)
                .execute(conn)
            })
            .await?
            .rows_affected();
        found(updated)
    }
}
