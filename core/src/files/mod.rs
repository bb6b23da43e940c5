//! Files: blobs uploaded through the platform, with their metadata row and
//! audit entry committed in one unit of work.
//!
//! An upload streams into the blob store first (checked against the size
//! limit chunk by chunk), then the row and the audit entry commit; when the
//! commit fails the blob is deleted again. A deletion commits the row's
//! removal first, then deletes the blob; a blob whose deletion fails is an
//! orphan the sweep ([`OrphanSweep`]) removes later. So a row never points
//! at a missing blob, and a stray blob never outlives a day.

mod manager;
mod policy;
mod sweep;

#[cfg(test)]
mod tests;

pub use manager::{FilesManager, FilesManagerParameters};
pub use policy::{FilesSettings, content_type_allowed};
pub use sweep::OrphanSweep;

/// Audit actions the files module records.
pub mod actions {
    /// A file was uploaded.
    pub const FILE_UPLOADED: &str = "file.uploaded";
    /// A file was deleted (directly, or with the resource it was attached to).
    pub const FILE_DELETED: &str = "file.deleted";
}

/// The prefix every tenant's blobs live under: `tenants/{tenant}/`.
pub const TENANTS_PREFIX: &str = "tenants/";
