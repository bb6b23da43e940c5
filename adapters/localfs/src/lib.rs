//! Local filesystem adapters: the blob store.

mod atomic;
mod blob;

pub use blob::{
    LocalBlobSettings, LocalBlobStore, LocalBlobStoreParameters, LocalSignedUrlVerifier,
    LocalSignedUrlVerifierParameters,
};
