//! Local filesystem adapters: the blob store and the file mail outbox.

mod atomic;
mod blob;
mod mail;

pub use blob::{
    LocalBlobSettings, LocalBlobStore, LocalBlobStoreParameters, LocalSignedUrlVerifier,
    LocalSignedUrlVerifierParameters,
};
pub use mail::{FileMailer, FileMailerParameters, FileMailerSettings};
