//! The JSON the files routes write; each derives its OpenAPI schema.

use chrono::{DateTime, Utc};
use platform_ports::blob::PresignedUrl;
use platform_ports::files::StoredFile;
use platform_ports::model::{FileId, UserId, rfc3339_micros};
use serde::Serialize;
use utoipa::ToSchema;

/// A stored file's metadata.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = File)]
pub(crate) struct FileView {
    #[schema(value_type = uuid::Uuid)]
    id: FileId,
    /// Who uploaded it.
    #[schema(value_type = uuid::Uuid)]
    owner_id: UserId,
    /// The name it was uploaded with.
    filename: String,
    /// Its MIME type.
    content_type: String,
    /// Its length in bytes.
    size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    sha256: String,
    /// What it is to the resource it is attached to (`attachment`, `cover`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    purpose: Option<String>,
    /// When it was uploaded.
    #[serde(serialize_with = "rfc3339_micros")]
    created_at: DateTime<Utc>,
}

impl From<StoredFile> for FileView {
    fn from(file: StoredFile) -> Self {
        Self {
            id: file.id,
            owner_id: file.owner_id,
            filename: file.filename,
            content_type: file.content_type,
            size: file.size,
            sha256: file.sha256,
            purpose: file.attached_to.map(|a| a.purpose),
            created_at: file.created_at,
        }
    }
}

/// A URL that downloads a file without a token until it expires.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SignedUrl)]
pub(crate) struct SignedUrlView {
    /// The URL (the platform's own with the local store, the bucket's with S3).
    url: String,
    /// The method to use it with (`GET`).
    method: &'static str,
    /// When it stops working.
    #[serde(serialize_with = "rfc3339_micros")]
    expires_at: DateTime<Utc>,
}

impl From<PresignedUrl> for SignedUrlView {
    fn from(url: PresignedUrl) -> Self {
        Self {
            url: url.url,
            method: url.access.method(),
            expires_at: url.expires_at,
        }
    }
}
