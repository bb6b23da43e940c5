//! Blob storage (`blob.driver`).

use platform_adapter_localfs::{LocalBlobSettings, LocalBlobStore};
use platform_ports::blob::BlobStore;

use super::{Built, Parts, serve};
use crate::config::{BlobDriver, Settings};

/// The blob store port.
pub type BlobPort = Box<dyn BlobStore>;

/// Builds the configured blob store.
///
/// # Errors
/// When the configured driver has no adapter in this build (naming the key).
pub fn build(settings: &Settings) -> anyhow::Result<Built<BlobPort>> {
    let mut parts = Parts::default();
    let b = &settings.blob;
    let ports = match b.driver {
        BlobDriver::Local => serve!(
            parts,
            BlobStore,
            LocalBlobStore::new(LocalBlobSettings {
                root: b.local.root.clone(),
                public_base_url: b.local.public_base_url.clone(),
                signing_key: b.signing_key.clone(),
            })
        ),
        BlobDriver::S3 => anyhow::bail!("blob.driver: `s3` has no adapter in this build yet; use `local`"),
    };
    Ok(Built { ports, parts })
}
