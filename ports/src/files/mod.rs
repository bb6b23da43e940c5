//! The files module: uploaded blobs with their metadata (owner, tenant, size,
//! content type, SHA-256, creation time) in the database, and the use cases
//! other modules call to attach files to their resources.
//!
//! The bytes live in the [`BlobStore`](crate::blob::BlobStore) under
//! `tenants/{tenant}/{module}/{resource_type}/{id}/{filename}`: each tenant's
//! blobs under its own prefix, so no key of one tenant names another's blob.

pub mod permissions;

mod file;
mod repository;
mod service;

pub use file::*;
pub use repository::*;
pub use service::*;
