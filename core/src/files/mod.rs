//! Files: blobs uploaded through the platform, with their metadata row,
//! audit entry and outbox event committed in one unit of work.
//!
//! An upload streams into the blob store first (checked against the size
//! limit chunk by chunk), then the row, the audit entry and the
//! [`events::FILE_UPLOADED`] event commit; when the commit fails the blob is
//! deleted again. A deletion commits the row's removal (with its audit entry
//! and [`events::FILE_DELETED`]) first, then deletes the blob; a blob whose deletion fails is an
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

/// Event types published through the outbox on [`FILES_TOPIC`], so webhooks
/// and bus subscribers can react to files (scan them, index them, notify).
pub mod events {
    /// A file was uploaded (its row committed).
    pub const FILE_UPLOADED: &str = "file.uploaded";
    /// A file was deleted (directly, or with the resource it was attached
    /// to); its bytes go after the commit.
    pub const FILE_DELETED: &str = "file.deleted";
}

/// The topic of every files event: one topic, so the events of one file keep
/// their order.
pub const FILES_TOPIC: &str = "platform.files";

/// Who emits files events.
pub const EVENT_SOURCE: &str = "files";

/// The prefix every tenant's blobs live under: `tenants/{tenant}/`.
pub const TENANTS_PREFIX: &str = "tenants/";
