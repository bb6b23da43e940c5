//! Blob storage (`blob.driver`, `blob.local.*`, `blob.s3.*`).

use std::sync::Arc;

use platform_adapter_localfs::{LocalBlobSettings, LocalBlobStore};
use platform_adapter_s3::{S3BlobStore, S3Settings};
use platform_ports::blob::BlobStore;

use super::{Built, Parts, Purpose, serve};
use crate::config::{BlobDriver, Settings};

/// The blob store port.
pub type BlobPort = Box<dyn BlobStore>;

/// Builds the configured blob store: a local directory, or an S3 bucket
/// (created at start-up when `blob.s3.create_bucket`, checked on `/ready`).
///
/// # Errors
/// When a setting is refused or the bucket cannot be reached or created
/// (naming the key).
pub async fn build(settings: &Settings, purpose: Purpose) -> anyhow::Result<Built<BlobPort>> {
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
        BlobDriver::S3 => {
            let c = &b.s3;
            let s3 = S3Settings {
                endpoint: (!c.endpoint.is_empty()).then(|| c.endpoint.clone()),
                region: c.region.clone(),
                bucket: c.bucket.clone(),
                access_key: c.access_key.expose().to_owned(),
                secret_key: c.secret_key.clone(),
                path_style: c.path_style,
                multipart_threshold: c.multipart_threshold,
                multipart_concurrency: c.multipart_concurrency,
                create_bucket: c.create_bucket && purpose == Purpose::Serve,
                request_timeout: c.request_timeout,
            };
            // `connect` creates a missing bucket when asked; a check changes nothing.
            let store = match purpose {
                Purpose::Serve => S3BlobStore::connect(s3).await?,
                Purpose::Check => S3BlobStore::new(s3)?,
            };
            parts.check("blob", Arc::new(store.health_checker()));
            serve!(parts, BlobStore, store)
        }
    };
    Ok(Built { ports, parts })
}
