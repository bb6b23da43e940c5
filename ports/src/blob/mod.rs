//! Blob storage (the seed's `BlobStore`): bytes streamed in and out under
//! validated keys, with metadata, listing and presigned URLs.

mod body;
mod key;
mod signed;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

pub use body::{BlobBody, MeteredBody};
pub use key::{BlobKey, BlobPrefix};
#[cfg(feature = "mocks")]
pub use signed::MockSignedUrlVerifier;
pub use signed::{SIGNED_URL_PATH, SignedUrlError, SignedUrlVerifier};

use crate::BoxError;
use crate::model::FieldError;

/// Longest validity of a presigned URL (S3's limit for SigV4).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Most entries one [`BlobStore::list`] page returns (S3's limit).
pub const MAX_LIST_LIMIT: u32 = 1000;

/// What blob storage can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob at this key.
    #[error("blob not found")]
    NotFound,
    /// A bad argument (key the store cannot hold, content type, TTL, length...); names the field.
    #[error("invalid {}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// The body grew past the caller's size limit; nothing was stored.
    #[error("the blob is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The input stream failed (client gone, the caller's own check); nothing was stored.
    /// The source is the caller's error, unchanged, so it can recognise its own.
    #[error("the blob body could not be read")]
    Body(#[source] BoxError),
    /// The backend failed.
    #[error("blob backend failed")]
    Backend(#[source] BoxError),
}

impl BlobError {
    /// Wraps any backend error.
    pub fn backend(err: impl Into<BoxError>) -> Self {
        Self::Backend(err.into())
    }
}

impl From<FieldError> for BlobError {
    fn from(err: FieldError) -> Self {
        Self::Invalid(err)
    }
}

/// How to store a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutOptions {
    /// Its MIME type, kept as metadata and served back on reads.
    pub content_type: String,
    /// The exact length when known up front (a `Content-Length`); a body that
    /// differs is refused. Lets S3 skip multipart for small bodies.
    pub length: Option<u64>,
    /// Refuse (with [`BlobError::TooLarge`]) as soon as the body passes this many bytes.
    pub max_size: Option<u64>,
}

impl PutOptions {
    /// Longest content type accepted.
    pub const MAX_CONTENT_TYPE_LEN: usize = 255;

    /// A body of unknown length with no size limit.
    pub fn new(content_type: impl Into<String>) -> Self {
        Self {
            content_type: content_type.into(),
            length: None,
            max_size: None,
        }
    }

    /// The body is exactly `length` bytes.
    #[must_use]
    pub fn with_length(mut self, length: u64) -> Self {
        self.length = Some(length);
        self
    }

    /// The body may not pass `max_size` bytes.
    #[must_use]
    pub fn with_max_size(mut self, max_size: u64) -> Self {
        self.max_size = Some(max_size);
        self
    }

    /// Checks the content type (`type/subtype`, printable ASCII, an HTTP header
    /// value) and that a declared length respects the limit.
    ///
    /// # Errors
    /// [`BlobError::Invalid`] on field `content_type`, [`BlobError::TooLarge`].
    pub fn validate(&self) -> Result<(), BlobError> {
        let ct = &self.content_type;
        let printable = ct.bytes().all(|b| b == b' ' || b == b'\t' || (0x21..0x7f).contains(&b));
        let (kind, subtype) = ct.split_once('/').unwrap_or(("", ""));
        if ct.len() > Self::MAX_CONTENT_TYPE_LEN || !printable || kind.trim().is_empty() || subtype.trim().is_empty() {
            return Err(BlobError::Invalid(FieldError::new(
                "content_type",
                "invalid",
                "must be a MIME type such as `image/png` (printable ASCII, at most 255 bytes)",
            )));
        }
        match (self.length, self.max_size) {
            (Some(length), Some(limit)) if length > limit => Err(BlobError::TooLarge { limit }),
            _ => Ok(()),
        }
    }
}

/// What a store knows about a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its key.
    pub key: BlobKey,
    /// Its length in bytes.
    pub size: u64,
    /// Its MIME type as stored.
    pub content_type: String,
    /// The backend's entity tag (without quotes), when it has one.
    pub etag: Option<String>,
    /// Lowercase hex SHA-256 of the bytes, when the store knows it. Always set
    /// in what [`BlobStore::put`] returns (computed while the body streamed).
    pub sha256: Option<String>,
    /// When it was last written, when the store knows.
    pub last_modified: Option<DateTime<Utc>>,
}

/// A blob being read: its metadata and its bytes.
#[derive(Debug)]
pub struct BlobObject {
    /// Metadata of the version being streamed.
    pub info: BlobInfo,
    /// Exactly `info.size` bytes, unless the backend fails mid-way.
    pub body: BlobBody,
}

/// One page of a listing request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Only keys starting with this.
    pub prefix: BlobPrefix,
    /// Where the previous page stopped ([`BlobPage::next_cursor`]); `None` for the first page.
    pub cursor: Option<String>,
    /// Most entries wanted, 1 to [`MAX_LIST_LIMIT`]; 0 means the maximum.
    pub limit: u32,
}

impl ListRequest {
    /// The first page of keys under `prefix`, as many as a page holds.
    #[must_use]
    pub fn new(prefix: BlobPrefix) -> Self {
        Self {
            prefix,
            cursor: None,
            limit: 0,
        }
    }

    /// The page size to ask the backend for.
    #[must_use]
    pub fn effective_limit(&self) -> u32 {
        match self.limit {
            0 => MAX_LIST_LIMIT,
            n => n.min(MAX_LIST_LIMIT),
        }
    }
}

/// One listed blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobEntry {
    /// Its key.
    pub key: BlobKey,
    /// Its length in bytes.
    pub size: u64,
    /// The backend's entity tag (without quotes), when it has one.
    pub etag: Option<String>,
    /// When it was last written, when known.
    pub last_modified: Option<DateTime<Utc>>,
}

/// A page of a listing, in the backend's key order: ascending bytes on AWS
/// S3 and the local store; some S3-compatible servers (SeaweedFS) go folder by folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobPage {
    /// The blobs.
    pub entries: Vec<BlobEntry>,
    /// Pass back as [`ListRequest::cursor`] for the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// What a presigned URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignedAccess {
    /// Download (`GET`).
    Get,
    /// Upload (`PUT`; the request's `Content-Type` becomes the blob's).
    Put,
}

impl SignedAccess {
    /// The HTTP method the URL must be used with.
    #[must_use]
    pub fn method(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Put => "PUT",
        }
    }
}

/// A URL that grants one access to one key without other credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedUrl {
    /// The URL.
    pub url: String,
    /// What it allows.
    pub access: SignedAccess,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Whole seconds of a presigned URL's validity.
///
/// # Errors
/// [`BlobError::Invalid`] on field `ttl` outside 1 s ..= [`MAX_PRESIGN_TTL`].
pub fn presign_ttl_secs(ttl: Duration) -> Result<u32, BlobError> {
    if ttl < Duration::from_secs(1) || ttl > MAX_PRESIGN_TTL {
        return Err(BlobError::Invalid(FieldError::new(
            "ttl",
            "out_of_range",
            "must be between 1 second and 7 days",
        )));
    }
    // At most 604 800, so it fits.
    Ok(u32::try_from(ttl.as_secs()).unwrap_or(u32::MAX))
}

/// Stores blobs under keys `{module}/{resource_type}/{id}/{filename}`.
///
/// Every adapter passes the same contract suite (`platform-contract`'s `blob`
/// module): bytes come back identical, metadata is kept, listing is ordered
/// and paginated, presigned URLs work until they expire.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BlobStore: Interface {
    /// Stores (or atomically replaces) a blob, reading `body` to its end.
    ///
    /// Readers see the old blob or the whole new one, never a part. When the
    /// body fails or passes `options.max_size`, nothing is stored.
    ///
    /// # Errors
    /// [`BlobError::Invalid`] (content type, declared length, or a key the
    /// store cannot hold), [`BlobError::TooLarge`], [`BlobError::Body`],
    /// [`BlobError::Backend`].
    async fn put(&self, key: &BlobKey, body: BlobBody, options: PutOptions) -> Result<BlobInfo, BlobError>;

    /// Opens a blob for reading.
    ///
    /// # Errors
    /// [`BlobError::NotFound`], [`BlobError::Backend`].
    async fn get(&self, key: &BlobKey) -> Result<BlobObject, BlobError>;

    /// A blob's metadata.
    ///
    /// # Errors
    /// [`BlobError::NotFound`], [`BlobError::Backend`].
    async fn head(&self, key: &BlobKey) -> Result<BlobInfo, BlobError>;

    /// Whether a blob is at `key`.
    ///
    /// # Errors
    /// [`BlobError::Backend`].
    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError>;

    /// Deletes a blob (absent is fine).
    ///
    /// # Errors
    /// [`BlobError::Backend`].
    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError>;

    /// One page of the blobs whose keys start with `request.prefix`.
    ///
    /// # Errors
    /// [`BlobError::Invalid`] on field `cursor` for a cursor this store did
    /// not issue, [`BlobError::Backend`].
    async fn list(&self, request: &ListRequest) -> Result<BlobPage, BlobError>;

    /// A URL granting `access` to `key` for `ttl`, without other credentials.
    ///
    /// # Errors
    /// [`BlobError::Invalid`] on field `ttl` (see [`presign_ttl_secs`]),
    /// [`BlobError::Backend`] (e.g. no signing key configured).
    async fn presign(&self, key: &BlobKey, access: SignedAccess, ttl: Duration) -> Result<PresignedUrl, BlobError>;
}
