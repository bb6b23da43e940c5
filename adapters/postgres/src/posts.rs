//! Blog posts, listed newest first per tenant.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::blog::PostRepository;
use platform_ports::blog::{Post, PostFilter, PostStatus};
use platform_ports::model::{Page, PageRequest, PostId, TenantId, UserId};
use platform_ports::persistence::Transaction;
use uuid::Uuid;

use crate::cursor::{decode_time_id, encode_time_id, fetch_limit, page};
use crate::database::PgDatabase;
use crate::error::{corrupt, found};
use crate::scope::Scope;
use crate::uow::PgTx;

/// Names post-list cursors so other lists' cursors are refused.
const CURSOR_KIND: &str = "post";

macro_rules! post_columns {
    () => {
        "id, tenant_id, author_id, title, content, status, tags, created_at, updated_at, published_at"
    };
}

macro_rules! list_posts {
    ($before:literal) => {
        concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts WHERE tenant_id = $1",
            // Unpublished posts (drafts, archived) are private to their author
            // unless the viewer manages posts.
            " AND (status = 'published' OR $2 OR COALESCE(author_id = $3, FALSE))",
            " AND ($4::text IS NULL OR status = $4)",
            " AND ($5::uuid IS NULL OR author_id = $5)",
            " AND ($6::text IS NULL OR tags @> ARRAY[$6::text])",
            $before,
            " ORDER BY created_at DESC, id DESC LIMIT $7"
        )
    };
}

const LIST_FIRST: &str = list_posts!("");
const LIST_BEFORE: &str = list_posts!(" AND (created_at, id) < ($8, $9)");

/// A `posts` row.
#[derive(sqlx::FromRow)]
struct PostRow {
    id: Uuid,
    tenant_id: Uuid,
    author_id: Uuid,
    title: String,
    content: String,
    status: String,
    tags: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

impl PostRow {
    fn into_post(self) -> Result<Post, StoreError> {
        Ok(Post {
            id: PostId(self.id),
            tenant_id: TenantId(self.tenant_id),
            author_id: UserId(self.author_id),
            title: self.title,
            content: self.content,
            status: PostStatus::from_str(&self.status).map_err(|e| corrupt("post status", e))?,
            tags: self.tags,
            created_at: self.created_at,
            updated_at: self.updated_at,
            published_at: self.published_at,
        })
    }
}

/// [`PostRepository`] over a [`PgDatabase`].
#[derive(Clone, Debug)]
pub struct PgPostRepository {
    db: PgDatabase,
}

impl PgPostRepository {
    /// A repository over `db`.
    #[must_use]
    pub fn new(db: PgDatabase) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PostRepository for PgPostRepository {
    async fn find_by_id(&self, tenant: TenantId, id: PostId) -> Result<Option<Post>, StoreError> {
        let row: Option<PostRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("posts.find_by_id", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    post_columns!(),
                    " FROM posts WHERE tenant_id = $1 AND id = $2"
                ))
                .bind(tenant.0)
                .bind(id.0)
                .fetch_optional(conn)
            })
            .await?;
        row.map(PostRow::into_post).transpose()
    }

    async fn list(
        &self,
        tenant: TenantId,
        filter: &PostFilter,
        page_request: &PageRequest,
    ) -> Result<Page<Post>, StoreError> {
        let before = page_request
            .cursor
            .as_deref()
            .map(|cursor| decode_time_id(CURSOR_KIND, cursor))
            .transpose()?;
        let query = sqlx::query_as(if before.is_some() { LIST_BEFORE } else { LIST_FIRST })
            .bind(tenant.0)
            .bind(filter.include_all_drafts)
            .bind(filter.viewer_id.map(|v| v.0))
            .bind(filter.status.map(PostStatus::as_str))
            .bind(filter.author_id.map(|a| a.0))
            .bind(filter.tag.as_deref())
            .bind(fetch_limit(page_request.limit));
        let query = match before {
            Some((at, id)) => query.bind(at).bind(id),
            None => query,
        };
        let rows: Vec<PostRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("posts.list", |conn| query.fetch_all(conn))
            .await?;
        let posts = rows
            .into_iter()
            .map(PostRow::into_post)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(posts, page_request.limit, |post| {
            encode_time_id(CURSOR_KIND, post.created_at, post.id.0)
        }))
    }

    async fn create(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError> {
        let inserted = PgTx::of(tx)?
            .scoped(Scope::Tenant(post.tenant_id))
            .await?
            .run("posts.create", |conn| {
                sqlx::query(concat!(
                    "INSERT INTO posts (",
                    post_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
                ))
                .bind(post.id.0)
                .bind(post.tenant_id.0)
                .bind(post.author_id.0)
                .bind(post.title.as_str())
                .bind(post.content.as_str())
                .bind(post.status.as_str())
                .bind(post.tags.as_slice())
                .bind(post.created_at)
                .bind(post.updated_at)
                .bind(post.published_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("post_id".to_owned()));
        }
        Ok(())
    }

    async fn update(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError> {
        let updated = PgTx::of(tx)?
            .scoped(Scope::Tenant(post.tenant_id))
            .await?
            .run("posts.update", |conn| {
                sqlx::query(
                    "UPDATE posts SET author_id = $3, title = $4, content = $5, status = $6, \
                     tags = $7, created_at = $8, updated_at = $9, published_at = $10 \
                     WHERE tenant_id = $1 AND id = $2",
                )
                .bind(post.tenant_id.0)
                .bind(post.id.0)
                .bind(post.author_id.0)
                .bind(post.title.as_str())
                .bind(post.content.as_str())
                .bind(post.status.as_str())
                .bind(post.tags.as_slice())
                .bind(post.created_at)
                .bind(post.updated_at)
                .bind(post.published_at)
                .execute(conn)
            })
            .await?
            .rows_affected();
        found(updated)
    }

    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: PostId) -> Result<(), StoreError> {
        let deleted = PgTx::of(tx)?
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("posts.delete", |conn| {
                sqlx::query("DELETE FROM posts WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.0)
                    .bind(id.0)
                    .execute(conn)
            })
            .await?
            .rows_affected();
        found(deleted)
    }

    async fn published_between(
        &self,
        tenant: TenantId,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Post>, StoreError> {
        let rows: Vec<PostRow> = self
            .db
            .scoped(Scope::Tenant(tenant))
            .await?
            .run("posts.published_between", |conn| {
                sqlx::query_as(concat!(
                    "SELECT ",
                    post_columns!(),
                    " FROM posts WHERE tenant_id = $1 AND status = 'published'",
                    " AND published_at > $2 AND published_at <= $3",
                    " ORDER BY published_at, id LIMIT $4"
                ))
                .bind(tenant.0)
                .bind(after)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(conn)
            })
            .await?;
        rows.into_iter().map(PostRow::into_post).collect()
    }
}
