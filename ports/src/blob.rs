//! Blob storage (the seed's `BlobStore`).

use std::time::Duration;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;

/// What blob storage can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob at this key.
    #[error("blob not found")]
    NotFound,
    /// The key is not acceptable (empty, `..`, absolute, too long).
    #[error("invalid blob key `{0}`")]
    InvalidKey(String),
    /// The backend failed.
    #[error("blob backend failed")]
    Backend(#[source] BoxError),
}

/// A stored blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The bytes.
    pub data: Vec<u8>,
    /// Its MIME type.
    pub content_type: String,
}

/// What a signed URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedAccess {
    /// Download.
    Get,
    /// Upload.
    Put,
}

/// Stores blobs under keys `{module}/{resource_type}/{resource_id}/{filename}`.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlobStore: Interface {
    /// Stores (or replaces) a blob.
    ///
    /// # Errors
    /// [`BlobError::InvalidKey`], [`BlobError::Backend`].
    async fn upload(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), BlobError>;

    /// Reads a blob.
    ///
    /// # Errors
    /// [`BlobError::NotFound`], [`BlobError::InvalidKey`], [`BlobError::Backend`].
    async fn download(&self, key: &str) -> Result<Blob, BlobError>;

    /// Deletes a blob (absent is fine).
    ///
    /// # Errors
    /// [`BlobError::InvalidKey`], [`BlobError::Backend`].
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Whether a blob is at `key`.
    ///
    /// # Errors
    /// [`BlobError::InvalidKey`], [`BlobError::Backend`].
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;

    /// A URL granting `access` to `key` for `ttl`, without other credentials.
    ///
    /// # Errors
    /// [`BlobError::InvalidKey`], [`BlobError::Backend`].
    async fn signed_url(&self, key: &str, access: SignedAccess, ttl: Duration) -> Result<String, BlobError>;
}
