use std::time::Duration;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::blob::{BlobBody, BlobKey, PresignedUrl};
use crate::files::{AttachedTo, StoredFile};
use crate::model::{FileId, RequestContext, ValidationErrors};
use crate::persistence::Transaction;

/// What file use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Input is invalid (file name, content type syntax, TTL).
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// No such file in the caller's tenant.
    #[error("not found")]
    NotFound,
    /// The body is (or declared itself) larger than the limit; nothing was stored.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// `blob.max_upload_bytes`.
        limit: u64,
    },
    /// The content type is not one of `blob.allowed_content_types`.
    #[error("content type {0} is not allowed")]
    UnsupportedType(String),
    /// The upload body failed (client gone mid-way); nothing was stored.
    #[error("the upload body could not be read")]
    Body(#[source] BoxError),
    /// Not authenticated.
    #[error("not authenticated")]
    Unauthenticated,
    /// A dependency failed.
    #[error("files backend failed")]
    Backend(#[source] BoxError),
}

/// A file being uploaded: its bytes stream through, never held whole.
#[derive(Debug)]
pub struct Upload {
    /// The file name (becomes the key's last segment).
    pub filename: String,
    /// Its MIME type, as the client declared it.
    pub content_type: String,
    /// Its exact length when the client declared it (a `Content-Length`).
    pub length: Option<u64>,
    /// The bytes.
    pub body: BlobBody,
    /// The resource it belongs to, if any.
    pub attach_to: Option<AttachedTo>,
}

/// A file being downloaded.
#[derive(Debug)]
pub struct Download {
    /// Its metadata.
    pub file: StoredFile,
    /// Its bytes, streamed from the blob store.
    pub body: BlobBody,
}

/// Files: upload, read, delete, signed URLs; and what other modules need to
/// keep files with their resources.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait FileService: Interface {
    /// Stores the bytes, then the metadata row and its audit entry in one
    /// unit of work. The content type is checked before a byte is read, the
    /// size limit while the body streams.
    ///
    /// # Errors
    /// [`FileError::Validation`], [`FileError::UnsupportedType`],
    /// [`FileError::TooLarge`], [`FileError::Body`], [`FileError::Unauthenticated`],
    /// [`FileError::Backend`].
    async fn upload(&self, ctx: &RequestContext, upload: Upload) -> Result<StoredFile, FileError>;

    /// A file's metadata.
    ///
    /// # Errors
    /// [`FileError::NotFound`] (also for another tenant's file), [`FileError::Backend`].
    async fn get(&self, ctx: &RequestContext, id: FileId) -> Result<StoredFile, FileError>;

    /// A file's metadata and bytes.
    ///
    /// # Errors
    /// [`FileError::NotFound`], [`FileError::Backend`].
    async fn download(&self, ctx: &RequestContext, id: FileId) -> Result<Download, FileError>;

    /// Deletes the row (with its audit entry), then the bytes; bytes whose
    /// deletion fails are left to the orphan sweep.
    ///
    /// # Errors
    /// [`FileError::NotFound`], [`FileError::Backend`].
    async fn delete(&self, ctx: &RequestContext, id: FileId) -> Result<(), FileError>;

    /// A URL that downloads the file without a token until it expires
    /// (`ttl`, or the configured default).
    ///
    /// # Errors
    /// [`FileError::NotFound`], [`FileError::Validation`] on field `ttl`, [`FileError::Backend`].
    async fn signed_url(
        &self,
        ctx: &RequestContext,
        id: FileId,
        ttl: Option<Duration>,
    ) -> Result<PresignedUrl, FileError>;

    /// The bytes at `key`, for a signed URL the HTTP layer already verified.
    ///
    /// # Errors
    /// [`FileError::NotFound`], [`FileError::Backend`].
    async fn open_signed(&self, key: &BlobKey) -> Result<Download, FileError>;

    /// The files attached to a resource (any purpose), oldest first.
    ///
    /// # Errors
    /// [`FileError::Backend`].
    async fn attached(
        &self,
        ctx: &RequestContext,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, FileError>;

    /// Deletes the rows of every file attached to a resource, with their
    /// audit entries, inside the caller's unit of work (the resource's own
    /// deletion); pass what it returns to [`FileService::purge`] after commit.
    ///
    /// # Errors
    /// [`FileError::Backend`].
    async fn detach_all(
        &self,
        tx: &mut Transaction,
        ctx: &RequestContext,
        module: &str,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<Vec<StoredFile>, FileError>;

    /// Deletes the bytes of files whose rows are gone; failures are logged
    /// and left to the orphan sweep.
    async fn purge(&self, files: Vec<StoredFile>);
}
