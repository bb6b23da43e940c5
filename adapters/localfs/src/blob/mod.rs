//! [`LocalBlobStore`]: blobs as files under one directory, with HMAC-signed
//! URLs that the platform serves itself.

mod layout;
mod list;
mod meta;
mod read;
mod signing;
mod verifier;
mod write;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use platform_ports::blob::{
    BlobBody, BlobError, BlobInfo, BlobKey, BlobObject, BlobPage, BlobStore, ListRequest, PresignedUrl, PutOptions,
    SIGNED_URL_PATH, SignedAccess, presign_ttl_secs,
};
use platform_ports::model::SecretString;
use tokio::fs;

use layout::is_symlink_refusal;
pub use verifier::{LocalSignedUrlVerifier, LocalSignedUrlVerifierParameters};

/// Where [`LocalBlobStore`] keeps blobs and how it signs URLs.
#[derive(Clone, Debug)]
pub struct LocalBlobSettings {
    /// Directory holding the blobs (created on first write or by [`LocalBlobStore::ensure_root`]).
    pub root: PathBuf,
    /// Public origin of the HTTP adapter, e.g. `http://localhost:8080`; signed
    /// URLs point at `{public_base_url}{SIGNED_URL_PATH}/{key}`.
    pub public_base_url: String,
    /// HMAC-SHA256 key for signed URLs; an empty key makes [`BlobStore::presign`] fail.
    pub signing_key: SecretString,
}

/// A [`BlobStore`] on the local file system (development and single-node deployments).
///
/// A key `a/b/c.png` is stored at `{root}/a/b/c.png`, its metadata in
/// `{root}/a/b/c.png.meta.json`. Writes stream into a temp file in the same
/// folder, are fsynced and renamed into place; no operation follows a
/// symbolic link below the root. Its presigned URLs are served by the HTTP
/// adapter, which checks them with [`LocalBlobStore::url_verifier`].
#[derive(shaku::Component)]
#[shaku(interface = BlobStore)]
pub struct LocalBlobStore {
    /// Root directory, public URL and signing key.
    settings: LocalBlobSettings,
}

impl LocalBlobStore {
    /// A store over `settings.root`; nothing touches the disk until the first call.
    #[must_use]
    pub fn new(settings: LocalBlobSettings) -> Self {
        Self { settings }
    }

    /// The verifier for the URLs this store signs, as its own component.
    #[must_use]
    pub fn url_verifier(&self) -> LocalSignedUrlVerifier {
        LocalSignedUrlVerifier::new(self.settings.clone())
    }

    /// Creates the root directory if it is missing, so start-up can fail early on a bad path.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the directory cannot be created.
    pub async fn ensure_root(&self) -> Result<(), BlobError> {
        fs::create_dir_all(self.root()).await.map_err(backend)
    }

    fn root(&self) -> &Path {
        &self.settings.root
    }

    fn secret(&self) -> &[u8] {
        self.settings.signing_key.expose().as_bytes()
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, key: &BlobKey, body: BlobBody, options: PutOptions) -> Result<BlobInfo, BlobError> {
        write::put(self.root(), key, body, options).await
    }

    async fn get(&self, key: &BlobKey) -> Result<BlobObject, BlobError> {
        read::get(self.root(), key).await
    }

    async fn head(&self, key: &BlobKey) -> Result<BlobInfo, BlobError> {
        read::head(self.root(), key).await
    }

    async fn exists(&self, key: &BlobKey) -> Result<bool, BlobError> {
        match read::head(self.root(), key).await {
            Ok(_) => Ok(true),
            Err(BlobError::NotFound) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), BlobError> {
        write::delete(self.root(), key).await
    }

    async fn list(&self, request: &ListRequest) -> Result<BlobPage, BlobError> {
        list::list(self.root(), request).await
    }

    async fn presign(&self, key: &BlobKey, access: SignedAccess, ttl: Duration) -> Result<PresignedUrl, BlobError> {
        let ttl = presign_ttl_secs(ttl)?;
        let expires_at = Utc::now() + TimeDelta::seconds(i64::from(ttl));
        let expires = expires_at.timestamp();
        let signature = signing::sign(self.secret(), key.as_str(), access, expires)
            .ok_or_else(|| BlobError::backend("the blob signing key (blob.signing_key) is empty"))?;
        let url = format!(
            "{}{SIGNED_URL_PATH}/{}?expires={expires}&signature={signature}",
            self.settings.public_base_url.trim_end_matches('/'),
            signing::encode_key(key.as_str()),
        );
        Ok(PresignedUrl {
            url,
            access,
            // Whole seconds, as the URL carries them.
            expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(expires_at),
        })
    }
}

/// Runs blocking file system work (several syscalls in one hop) off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| Err(io::Error::other(join)))
}

/// A backend error that says plainly when a symbolic link below the root was refused.
fn symlink_error(err: io::Error) -> BlobError {
    if is_symlink_refusal(&err) {
        BlobError::backend(format!(
            "refusing to follow a symbolic link below the blob root ({err})"
        ))
    } else {
        backend(err)
    }
}

fn backend(err: impl Into<platform_ports::BoxError>) -> BlobError {
    BlobError::Backend(err.into())
}

#[cfg(test)]
mod tests;
