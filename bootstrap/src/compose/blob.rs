//! Blob storage (`blob.driver`, `blob.local.*`, `blob.s3.*`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use platform_adapter_localfs::{LocalBlobSettings, LocalBlobStore, LocalSignedUrlVerifier};
use platform_adapter_s3::{S3BlobStore, S3Settings};
use platform_ports::blob::{BlobKey, BlobStore, SignedAccess, SignedUrlError, SignedUrlVerifier};

use super::{Built, Parts, Purpose, serve};
use crate::config::{BlobDriver, Settings};

/// The blob store and the checker of the signed URLs the platform serves.
pub struct BlobPorts {
    /// The store.
    pub store: Box<dyn BlobStore>,
    /// Checks `GET|PUT /api/v1/files/signed/...` URLs (the local store's).
    pub verifier: Box<dyn SignedUrlVerifier>,
}

/// The blob ports (kept under the family's usual name).
pub type BlobPort = BlobPorts;

/// With S3 the presigned URLs point at the bucket and S3 checks them, so the
/// platform's own signed route accepts none.
#[derive(Debug)]
struct S3SignsItsOwnUrls;

impl SignedUrlVerifier for S3SignsItsOwnUrls {
    fn verify(
        &self,
        _key: &str,
        _access: SignedAccess,
        _expires: &str,
        _signature: &str,
        _now: DateTime<Utc>,
    ) -> Result<BlobKey, SignedUrlError> {
        Err(SignedUrlError::Unavailable)
    }
}

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
        BlobDriver::Local => {
            let local = LocalBlobSettings {
                root: b.local.root.clone(),
                public_base_url: b.local.public_base_url.clone(),
                signing_key: b.signing_key.clone(),
            };
            BlobPorts {
                verifier: serve!(parts, SignedUrlVerifier, LocalSignedUrlVerifier::new(local.clone())),
                store: serve!(parts, BlobStore, LocalBlobStore::new(local)),
            }
        }
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
            BlobPorts {
                store: serve!(parts, BlobStore, store),
                verifier: serve!(
                    parts,
                    SignedUrlVerifier,
                    S3SignsItsOwnUrls,
                    "none (S3 checks its own URLs)".to_owned()
                ),
            }
        }
    };
    Ok(Built { ports, parts })
}
