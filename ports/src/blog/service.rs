use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;
use crate::blog::{Post, PostFilter, PostStatus};
use crate::model::{Page, PageRequest, PostId, RequestContext, ValidationErrors};

/// What blog use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlogError {
    /// Input is invalid.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// No such post visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller may not do this to this post.
    #[error("forbidden")]
    Forbidden,
    /// Not authenticated.
    #[error("not authenticated")]
    Unauthenticated,
    /// The workflow does not allow this transition (→ 409).
    #[error("cannot go from {from} to {to}")]
    InvalidTransition {
        /// Current status.
        from: PostStatus,
        /// Requested status.
        to: PostStatus,
    },
    /// A dependency failed.
    #[error("blog backend failed")]
    Backend(#[source] BoxError),
}

/// Input for creating or replacing a post.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PostInput {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// Blog posts and their workflow.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlogService: Interface {
    /// Creates a draft.
    ///
    /// # Errors
    /// [`BlogError::Validation`], [`BlogError::Forbidden`], [`BlogError::Backend`].
    async fn create(&self, ctx: &RequestContext, input: PostInput) -> Result<Post, BlogError>;

    /// One post visible to the caller.
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Backend`].
    async fn get(&self, ctx: &RequestContext, id: PostId) -> Result<Post, BlogError>;

    /// Posts visible to the caller.
    ///
    /// # Errors
    /// [`BlogError::Validation`], [`BlogError::Backend`].
    async fn list(&self, ctx: &RequestContext, filter: PostFilter, page: PageRequest) -> Result<Page<Post>, BlogError>;

    /// Replaces title, content and tags.
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::Validation`], [`BlogError::Backend`].
    async fn update(&self, ctx: &RequestContext, id: PostId, input: PostInput) -> Result<Post, BlogError>;

    /// Deletes a post.
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::Backend`].
    async fn delete(&self, ctx: &RequestContext, id: PostId) -> Result<(), BlogError>;

    /// Moves a post to `status` (publish, archive, restore to draft).
    ///
    /// # Errors
    /// [`BlogError::InvalidTransition`], [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::Backend`].
    async fn transition(&self, ctx: &RequestContext, id: PostId, status: PostStatus) -> Result<Post, BlogError>;
}
