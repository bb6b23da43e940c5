//! [`LocalBlobStore`]: blobs as files under one directory, with HMAC-signed URLs.

mod key;
mod signing;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use platform_ports::blob::{Blob, BlobError, BlobStore, SignedAccess};
use platform_ports::model::SecretString;
use tokio::fs;

use crate::atomic::write_atomic;
use key::BlobKey;

/// Content type reported for a blob whose metadata file is missing.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// How often an upload retries when a concurrent delete prunes its fresh directory.
const DIRECTORY_RACE_ATTEMPTS: usize = 5;

/// Where [`LocalBlobStore`] keeps blobs and how it signs URLs.
#[derive(Clone, Debug)]
pub struct LocalBlobSettings {
    /// Directory holding the blobs (created on first write or by [`LocalBlobStore::ensure_root`]).
    pub root: PathBuf,
    /// Public origin of the HTTP adapter serving `/blobs/...`, e.g. `http://localhost:8080`.
    pub public_base_url: String,
    /// HMAC-SHA256 key for signed URLs; an empty key makes [`BlobStore::signed_url`] fail.
    pub signing_key: SecretString,
}

/// A [`BlobStore`] on the local file system (development and single-node deployments).
///
/// A key `a/b/c.png` is stored at `{root}/a/b/c.png`, its content type in
/// `{root}/a/b/c.png.meta.json`. Every write is atomic (temp file, fsync, rename).
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

    /// Creates the root directory if it is missing, so start-up can fail early on a bad path.
    ///
    /// # Errors
    /// [`BlobError::Backend`] when the directory cannot be created.
    pub async fn ensure_root(&self) -> Result<(), BlobError> {
        fs::create_dir_all(&self.settings.root).await.map_err(backend)
    }

    /// Whether `signature` authorizes `method` on `key` until `expires` (unix seconds), at `now`.
    ///
    /// `method` must be the access the incoming request needs (GET → `Get`,
    /// PUT → `Put`), not the one claimed in its query string: the signature
    /// covers the method, so a GET URL cannot be replayed as an upload. The
    /// signature is compared in constant time; an invalid key, an expired URL
    /// or an empty signing key all yield `false`.
    #[must_use]
    pub fn verify_signature(
        &self,
        key: &str,
        method: SignedAccess,
        expires: i64,
        signature: &str,
        now: DateTime<Utc>,
    ) -> bool {
        if BlobKey::parse(key).is_err() || now.timestamp() >= expires {
            return false;
        }
        signing::verify(self.secret(), key, method, expires, signature)
    }

    fn secret(&self) -> &[u8] {
        self.settings.signing_key.expose().as_bytes()
    }

    fn root(&self) -> &Path {
        &self.settings.root
    }

    async fn write_blob(&self, key: BlobKey<'_>, data: &[u8], content_type: &str) -> io::Result<()> {
        let data_path = key.data_path(self.root());
        let sidecar = serde_json::json!({ "content_type": content_type }).to_string();
        // The metadata goes first: a crash in between leaves an invisible orphan,
        // never a blob without its content type.
        write_atomic(&key.sidecar_path(self.root()), sidecar.as_bytes()).await?;
        write_atomic(&data_path, data).await
    }

    async fn read_content_type(&self, key: BlobKey<'_>) -> Result<String, BlobError> {
        let raw = match fs::read(key.sidecar_path(self.root())).await {
            Ok(raw) => raw,
            Err(err) if is_absent(&err) => return Ok(DEFAULT_CONTENT_TYPE.to_owned()),
            Err(err) => return Err(backend(err)),
        };
        let meta: serde_json::Value = serde_json::from_slice(&raw).map_err(backend)?;
        meta.get("content_type")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| BlobError::Backend(format!("metadata of `{}` has no content type", key.as_str()).into()))
    }

    /// Whether `key` cannot be stored because another key occupies its path:
    /// a blob where a folder is needed, or a folder where the blob would go.
    async fn collides(&self, key: BlobKey<'_>) -> bool {
        let data_path = key.data_path(self.root());
        if fs::metadata(&data_path).await.is_ok_and(|meta| meta.is_dir()) {
            return true;
        }
        let mut dir = data_path.parent();
        while let Some(current) = dir {
            if current == self.root() || !current.starts_with(self.root()) {
                break;
            }
            if fs::metadata(current).await.is_ok_and(|meta| !meta.is_dir()) {
                return true;
            }
            dir = current.parent();
        }
        false
    }

    /// Removes empty directories between `from` and the root; stops at the first non-empty one.
    async fn prune_empty_dirs(&self, from: Option<&Path>) {
        let mut dir = from;
        while let Some(current) = dir {
            if current == self.root() || !current.starts_with(self.root()) {
                break;
            }
            if fs::remove_dir(current).await.is_err() {
                break;
            }
            dir = current.parent();
        }
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn upload(&self, key: &str, data: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        let key = BlobKey::parse(key)?;
        let data_path = key.data_path(self.root());
        let parent = data_path.parent().unwrap_or_else(|| self.root());
        let mut attempt = 1;
        loop {
            let written = async {
                fs::create_dir_all(parent).await?;
                self.write_blob(key, &data, content_type).await
            };
            match written.await {
                Ok(()) => return Ok(()),
                // A concurrent delete may prune a directory we just created (or are creating).
                Err(err)
                    if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::AlreadyExists)
                        && attempt < DIRECTORY_RACE_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(err) if self.collides(key).await => {
                    // The metadata may already be written; with a folder at the key it belongs to nothing.
                    let _ = fs::remove_file(key.sidecar_path(self.root())).await;
                    return Err(BlobError::InvalidKey(format!(
                        "{}: collides with an existing blob or folder ({err})",
                        key.as_str()
                    )));
                }
                Err(err) => return Err(backend(err)),
            }
        }
    }

    async fn download(&self, key: &str) -> Result<Blob, BlobError> {
        let key = BlobKey::parse(key)?;
        let data = match fs::read(key.data_path(self.root())).await {
            Ok(data) => data,
            Err(err) if is_absent(&err) => return Err(BlobError::NotFound),
            Err(err) => return Err(backend(err)),
        };
        let content_type = self.read_content_type(key).await?;
        Ok(Blob { data, content_type })
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let key = BlobKey::parse(key)?;
        let data_path = key.data_path(self.root());
        for path in [&data_path, &key.sidecar_path(self.root())] {
            match fs::remove_file(path).await {
                Ok(()) => {}
                Err(err) if is_absent(&err) => {}
                Err(err) => return Err(backend(err)),
            }
        }
        self.prune_empty_dirs(data_path.parent()).await;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let key = BlobKey::parse(key)?;
        match fs::metadata(key.data_path(self.root())).await {
            Ok(meta) => Ok(meta.is_file()),
            Err(err) if is_absent(&err) => Ok(false),
            Err(err) => Err(backend(err)),
        }
    }

    async fn signed_url(&self, key: &str, access: SignedAccess, ttl: Duration) -> Result<String, BlobError> {
        let key = BlobKey::parse(key)?;
        let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let expires = Utc::now().timestamp().saturating_add(ttl_secs);
        let signature = signing::sign(self.secret(), key.as_str(), access, expires)
            .ok_or_else(|| BlobError::Backend("the blob signing key is empty".into()))?;
        Ok(format!(
            "{}/blobs/{}?method={}&expires={expires}&signature={signature}",
            self.settings.public_base_url.trim_end_matches('/'),
            signing::encode_key(key.as_str()),
            signing::method_name(access),
        ))
    }
}

/// A path that is missing, or that runs through or ends at something other than a file.
fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

fn backend(err: impl Into<platform_ports::BoxError>) -> BlobError {
    BlobError::Backend(err.into())
}

#[cfg(test)]
mod tests;
