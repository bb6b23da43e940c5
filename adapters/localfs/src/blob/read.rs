//! Reading blobs: metadata from the data file and its sidecar, bytes streamed
//! from an open handle (a concurrent replace renames a new file in, so the
//! reader keeps the version it opened).

use std::path::{Path, PathBuf};

use bytes::BytesMut;
use futures::stream;
use platform_ports::blob::{BlobBody, BlobError, BlobInfo, BlobKey, BlobObject};
use tokio::io::AsyncReadExt as _;

use super::layout::{LocalKey, is_absent, open_no_follow, refuse_symlinks};
use super::meta::{info, read_sidecar};
use super::{blocking, symlink_error};

/// Size of each chunk read from disk.
const READ_CHUNK: usize = 128 * 1024;

/// Opens the blob: its metadata and, when `with_data`, its open file.
///
/// `Ok(None)` when there is no blob at `key`.
async fn open(
    root: &Path,
    key: &BlobKey,
    with_data: bool,
) -> Result<Option<(BlobInfo, Option<std::fs::File>)>, BlobError> {
    // A key this store refuses cannot hold a blob (and must not reach a sidecar).
    let Ok(local) = LocalKey::new(root, key) else {
        return Ok(None);
    };
    let (root, data_path, sidecar_path): (PathBuf, PathBuf, PathBuf) = (
        root.to_path_buf(),
        local.data_path().to_path_buf(),
        local.sidecar_path(),
    );
    let key = key.clone();
    blocking(move || {
        refuse_symlinks(&root, &data_path)?;
        let file = match open_no_follow(&data_path) {
            Ok(file) => file,
            Err(err) if is_absent(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        let data = file.metadata()?;
        // Opening a folder for reading succeeds on Linux; it is not a blob.
        if !data.is_file() {
            return Ok(None);
        }
        let blob = info(&key, &data, read_sidecar(&sidecar_path)?);
        Ok(Some((blob, with_data.then_some(file))))
    })
    .await
    .map_err(symlink_error)
}

/// See [`platform_ports::blob::BlobStore::head`].
pub(super) async fn head(root: &Path, key: &BlobKey) -> Result<BlobInfo, BlobError> {
    match open(root, key, false).await? {
        Some((info, _)) => Ok(info),
        None => Err(BlobError::NotFound),
    }
}

/// See [`platform_ports::blob::BlobStore::get`].
pub(super) async fn get(root: &Path, key: &BlobKey) -> Result<BlobObject, BlobError> {
    let Some((info, Some(file))) = open(root, key, true).await? else {
        return Err(BlobError::NotFound);
    };
    let file = tokio::fs::File::from_std(file);
    let chunks = stream::try_unfold(file, |mut file| async move {
        let mut buffer = BytesMut::with_capacity(READ_CHUNK);
        match file.read_buf(&mut buffer).await? {
            0 => Ok::<_, std::io::Error>(None),
            _ => Ok(Some((buffer.freeze(), file))),
        }
    });
    Ok(BlobObject {
        info,
        body: BlobBody::from_stream(chunks),
    })
}
