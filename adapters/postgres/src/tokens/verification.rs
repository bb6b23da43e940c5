//! Single-use mailed tokens (email verification, password reset).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::auth::VerificationTokenStore;
use platform_ports::auth::{TokenHash, VerificationPurpose, VerificationToken};
use platform_ports::model::{TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::database::PgDatabase;
use crate::error::corrupt;
use crate::scope::{Bypass, Scope};
use crate::uow::PgTx;

macro_rules! token_columns {
    () => {
        "token_hash, purpose, user_id, tenant_id, created_at, expires_at, used_at"
    };
}

/// The purpose as stored (the model's serde names).
fn purpose_str(purpose: VerificationPurpose) -> &'static str {
    match purpose {
        VerificationPurpose::EmailVerification => "email_verification",
        VerificationPurpose::PasswordReset => "password_reset",
    }
}

fn parse_purpose(stored: &str) -> Result<VerificationPurpose, StoreError> {
    match stored {
        "email_verification" => Ok(VerificationPurpose::EmailVerification),
        "password_reset" => Ok(VerificationPurpose::PasswordReset),
        other => Err(corrupt("verification purpose", other)),
    }
}

/// A `verification_tokens` row.
#[derive(sqlx::FromRow)]
struct TokenRow {
    token_hash: String,
    purpose: String,
    user_id: Uuid,
    tenant_id: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    fn into_token(self) -> Result<VerificationToken, StoreError> {
        Ok(VerificationToken {
            token_hash: TokenHash(self.token_hash),
            purpose: parse_purpose(&self.purpose)?,
            user_id: UserId(self.user_id),
            tenant_id: TenantId(self.tenant_id),
            created_at: self.created_at,
            expires_at: self.expires_at,
            used_at: self.used_at,
        })
    }
}

/// [`VerificationTokenStore`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgVerificationTokenStore {
    db: PgDatabase,
}

impl PgVerificationTokenStore {
    /// A token store over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl VerificationTokenStore for PgVerificationTokenStore {
    async fn insert(&self, tx: &mut Transaction, token: &VerificationToken) -> Result<(), StoreError> {
        let inserted = PgTx::of(tx)?
            .scoped(Scope::Tenant(token.tenant_id))
            .await?
            .run("verification_tokens.insert", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO verification_tokens (",
                    token_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
                ))
                .bind(token.token_hash.0.as_str())
                .bind(purpose_str(token.purpose))
                .bind(token.user_id.0)
                .bind(token.tenant_id.0)
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(token.used_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("token_hash".to_owned()));
        }
        Ok(())
    }

    async fn consume(
        &self,
        tx: &mut Transaction,
        purpose: VerificationPurpose,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<VerificationToken>, StoreError> {
        // One statement checks and uses the token, so two concurrent
        // consumptions cannot both succeed: the second waits for the row
        // and then finds it used.
        let row: Option<TokenRow> = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("verification_tokens.consume", |conn| {
                sqlx::query_as(concat!(
                    "UPDATE verification_tokens SET used_at = $3 ",
                    "WHERE token_hash = $1 AND purpose = $2 ",
                    "AND used_at IS NULL AND expires_at > $3 RETURNING ",
                    token_columns!()
                ))
                .bind(hash.0.as_str())
                .bind(purpose_str(purpose))
                .bind(now)
                .fetch_optional(conn)
            })
            .await?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn invalidate_user(
        &self,
        tx: &mut Transaction,
        user_id: UserId,
        purpose: VerificationPurpose,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = PgTx::of(tx)?
            .scoped(Scope::Bypass(Bypass::TokenLookup))
            .await?
            .run("verification_tokens.invalidate_user", |conn| {
                sqlx::query(
                    "UPDATE verification_tokens SET used_at = $3 \
                     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                )
                .bind(user_id.0)
                .bind(purpose_str(purpose))
                .bind(now)
                .execute(conn)
            })
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_expired(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.db.scoped(Scope::Bypass(Bypass::Maintenance)).await?;
        let done = tx
            .run("verification_tokens.delete_expired", |conn| {
                sqlx::query("DELETE FROM verification_tokens WHERE expires_at < $1")
                    .bind(before)
                    .execute(conn)
            })
            .await?;
        tx.finish().await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_round_trip_through_their_stored_names() {
        for purpose in [
            VerificationPurpose::EmailVerification,
            VerificationPurpose::PasswordReset,
        ] {
            assert_eq!(parse_purpose(purpose_str(purpose)).unwrap(), purpose);
            // The stored name is the model's serde name.
            assert_eq!(
                serde_json::to_value(purpose).unwrap(),
                serde_json::json!(purpose_str(purpose))
            );
        }
        assert!(parse_purpose("other").is_err());
    }
}
