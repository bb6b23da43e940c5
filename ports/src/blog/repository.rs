use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

use crate::StoreError;
use crate::blog::{Post, PostFilter};
use crate::model::{Page, PageRequest, PostId, TenantId};
use crate::persistence::Transaction;

/// Stores blog posts.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PostRepository: Interface {
    /// The post with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_by_id(&self, tenant: TenantId, id: PostId) -> Result<Option<Post>, StoreError>;

    /// Posts matching the filter, newest first.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a foreign cursor, [`StoreError::Backend`].
    async fn list(&self, tenant: TenantId, filter: &PostFilter, page: &PageRequest) -> Result<Page<Post>, StoreError>;

    /// Inserts a post.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id exists, [`StoreError::Backend`].
    async fn create(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError>;

    /// Replaces a post.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn update(&self, tx: &mut Transaction, post: &Post) -> Result<(), StoreError>;

    /// Deletes a post.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::Backend`].
    async fn delete(&self, tx: &mut Transaction, tenant: TenantId, id: PostId) -> Result<(), StoreError>;

    /// The tenant's published posts whose publication time is after `after`
    /// and at or before `until`, oldest published first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn published_between(
        &self,
        tenant: TenantId,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Post>, StoreError>;
}
