//! Published posts per author (`author_stats`), kept by the blog's example subscriber.

use async_trait::async_trait;
use platform_ports::StoreError;
use platform_ports::blog::AuthorStats;
use platform_ports::model::{TenantId, UserId};
use platform_ports::persistence::Transaction;

use crate::database::PgDatabase;
use crate::scope::Scope;
use crate::uow::PgTx;

/// [`AuthorStats`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgAuthorStats {
    db: PgDatabase,
}

impl PgAuthorStats {
    /// Counts over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AuthorStats for PgAuthorStats {
    async fn add_published(&self, tx: &mut Transaction, tenant: TenantId, author: UserId) -> Result<(), StoreError> {
        PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("author_stats.add_published", |conn| {
                sqlx::query(
                    "INSERT INTO author_stats (tenant_id, author_id, published_posts) VALUES ($1, $2, 1) \
                     ON CONFLICT (tenant_id, author_id) \
                     DO UPDATE SET published_posts = author_stats.published_posts + 1",
                )
                .bind(tenant.0)
                .bind(author.0)
                .execute(conn)
            })
            .await?;
        Ok(())
    }

    async fn published(&self, tenant: TenantId, author: UserId) -> Result<u64, StoreError> {
        let count: Option<i64> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("author_stats.published", |conn| {
                sqlx::query_scalar("SELECT published_posts FROM author_stats WHERE tenant_id = $1 AND author_id = $2")
                    .bind(tenant.0)
                    .bind(author.0)
                    .fetch_optional(conn)
            })
            .await?;
        Ok(count.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }
}
