use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::blob::BlobKey;
use crate::model::{FieldError, FileId, TenantId, UserId};

/// The resource a file belongs to, when another module owns it (a blog
/// post's attachment): deleting the resource deletes its files.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttachedTo {
    /// The owning module (`blog`).
    pub module: String,
    /// The resource type in that module (`post`).
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// What the file is to the resource (`attachment`, `cover`).
    pub purpose: String,
}

impl AttachedTo {
    /// Checks that each part is a key segment (`[a-z0-9_-]` for the names).
    ///
    /// # Errors
    /// A [`FieldError`] naming the part.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, value) in [
            ("module", &self.module),
            ("resource_type", &self.resource_type),
            ("purpose", &self.purpose),
        ] {
            let ok = !value.is_empty()
                && value.len() <= 64
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
            if !ok {
                return Err(FieldError::new(field, "invalid", "must be 1 to 64 of [a-z0-9_-]"));
            }
        }
        if self.resource_id.is_empty() || self.resource_id.len() > 255 {
            return Err(FieldError::new("resource_id", "invalid", "must be 1 to 255 bytes"));
        }
        Ok(())
    }
}

/// A stored file: its metadata row; the bytes are at [`StoredFile::key`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Identity.
    pub id: FileId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Who uploaded it.
    pub owner_id: UserId,
    /// The name it was uploaded with (one key segment).
    pub filename: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its length in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes, computed while they streamed in.
    pub sha256: String,
    /// Where the bytes are in the blob store.
    pub key: BlobKey,
    /// The resource it belongs to, if any.
    pub attached_to: Option<AttachedTo>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
}
