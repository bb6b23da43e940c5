//! The blob store on S3 or any S3-compatible server (AWS, SeaweedFS, MinIO,
//! R2...), with rust-s3 over rustls (ring): streaming uploads with multipart
//! above a threshold (a body of declared length is never buffered, one of
//! unknown length at most a few parts), streaming downloads, listing, and
//! SigV4 presigned URLs.
//!
//! Bootstrap builds it with [`S3BlobStore::connect`] from [`S3Settings`]
//! (`blob.s3.*`) and registers [`S3BlobStore::health_checker`].

mod errors;
mod health;
mod request;
mod settings;
mod store;
mod upload;

pub use health::S3HealthCheck;
pub use settings::{MAX_PART_SIZE, MIN_PART_SIZE, S3Settings, S3SetupError};
pub use store::S3BlobStore;
