use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::BoxError;
use crate::blog::{Post, PostFilter, PostStatus};
use crate::files::{FileError, StoredFile, Upload};
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
    /// Storing or deleting a post's file failed (too large, wrong type...).
    #[error("post file: {0}")]
    File(#[source] FileError),
    /// A dependency failed.
    #[error("blog backend failed")]
    Backend(#[source] BoxError),
}

/// What a file is to its post.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentPurpose {
    /// One of the post's attachments (any number).
    Attachment,
    /// The post's cover image (at most one: a new one replaces it).
    Cover,
}

impl AttachmentPurpose {
    /// As stored with the file.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attachment => "attachment",
            Self::Cover => "cover",
        }
    }
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

    /// Deletes a post, with its files (their rows in the same unit of work,
    /// their bytes right after).
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::Backend`].
    async fn delete(&self, ctx: &RequestContext, id: PostId) -> Result<(), BlogError>;

    /// Stores a file on a post the caller may change: an attachment, or its
    /// cover image (an `image/*`; the previous cover is deleted).
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::File`], [`BlogError::Backend`].
    async fn attach(
        &self,
        ctx: &RequestContext,
        id: PostId,
        upload: Upload,
        purpose: AttachmentPurpose,
    ) -> Result<StoredFile, BlogError>;

    /// The files of a post the caller may see (cover and attachments), oldest first.
    ///
    /// # Errors
    /// [`BlogError::NotFound`], [`BlogError::Backend`].
    async fn attachments(&self, ctx: &RequestContext, id: PostId) -> Result<Vec<StoredFile>, BlogError>;

    /// Moves a post to `status` (publish, archive, restore to draft).
    ///
    /// # Errors
    /// [`BlogError::InvalidTransition`], [`BlogError::NotFound`], [`BlogError::Forbidden`], [`BlogError::Backend`].
    async fn transition(&self, ctx: &RequestContext, id: PostId, status: PostStatus) -> Result<Post, BlogError>;
}
