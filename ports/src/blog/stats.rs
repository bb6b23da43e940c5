use async_trait::async_trait;
use shaku::Interface;

use crate::StoreError;
use crate::model::{TenantId, UserId};
use crate::persistence::Transaction;

/// How many posts each author has published: the read model the blog's
/// example subscriber keeps from `blog.post.published` events.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuthorStats: Interface {
    /// Adds one published post to `author`'s count, inside the unit of work
    /// that also records the event as processed.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the write fails (the handler fails and the
    /// bus redelivers).
    async fn add_published(&self, tx: &mut Transaction, tenant: TenantId, author: UserId) -> Result<(), StoreError>;

    /// How many posts `author` has published (0 when none).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn published(&self, tenant: TenantId, author: UserId) -> Result<u64, StoreError>;
}
