//! Writing and deleting blobs: streamed into a temp file beside the target,
//! fsynced, then renamed into place after its metadata.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::Path;

use platform_ports::blob::{BlobBody, BlobError, BlobInfo, BlobKey, MeteredBody, PutOptions};
use sha2::{Digest, Sha256};
use tokio::fs;
use tokio::sync::{Mutex, MutexGuard};

use super::layout::{LocalKey, invalid, is_absent, refuse_symlinks};
use super::meta::{self, Sidecar, inode_of};
use super::{backend, blocking, symlink_error};
use crate::atomic::{TempFile, write_atomic};

/// How often creating the temp file is retried when a concurrent delete
/// prunes the directory just created for it.
const DIRECTORY_RACE_ATTEMPTS: usize = 5;

/// Writers of one key commit one at a time (the sidecar and the data file
/// must be renamed as a pair); keys share a fixed set of locks by hash.
static COMMIT_LOCKS: [Mutex<()>; 64] = [const { Mutex::const_new(()) }; 64];

async fn commit_lock(key: &BlobKey) -> MutexGuard<'static, ()> {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let index = usize::try_from(hasher.finish() % COMMIT_LOCKS.len() as u64).unwrap_or(0);
    COMMIT_LOCKS[index].lock().await
}

/// Streams `body` to `key`; see [`platform_ports::blob::BlobStore::put`].
pub(super) async fn put(
    root: &Path,
    key: &BlobKey,
    body: BlobBody,
    options: PutOptions,
) -> Result<BlobInfo, BlobError> {
    let local = LocalKey::new(root, key)?;
    let mut body = MeteredBody::new(body, &options)?;
    let mut temp = create_temp(root, &local).await?;
    let mut hasher = Sha256::new();
    let streamed = async {
        while let Some(chunk) = body.next_chunk().await? {
            hasher.update(&chunk);
            temp.write_all(&chunk).await.map_err(backend)?;
        }
        temp.sync().await.map_err(backend)
    }
    .await;
    let data = match streamed {
        Ok(data) => data,
        Err(err) => {
            temp.discard().await;
            return Err(err);
        }
    };
    let sidecar = Sidecar {
        content_type: options.content_type,
        size: Some(data.len()),
        sha256: Some(hex::encode(hasher.finalize())),
        inode: inode_of(&data),
    };

    let _guard = commit_lock(key).await;
    commit(&local, temp, &sidecar).await?;
    // The renamed file is the temp file: same inode, size and modification time.
    Ok(meta::info(key, &data, Some(sidecar)))
}

/// The temp file in the blob's directory, creating the directories on the way.
async fn create_temp(root: &Path, local: &LocalKey<'_>) -> Result<TempFile, BlobError> {
    let dir = local.dir().to_path_buf();
    let (checked_root, checked_dir) = (root.to_path_buf(), dir.clone());
    blocking(move || refuse_symlinks(&checked_root, &checked_dir))
        .await
        .map_err(symlink_error)?;
    let mut attempt = 1;
    loop {
        let created = async {
            fs::create_dir_all(&dir).await?;
            TempFile::create_in(&dir).await
        };
        match created.await {
            Ok(temp) => return Ok(temp),
            // A concurrent delete may prune a directory we just created.
            Err(err) if err.kind() == io::ErrorKind::NotFound && attempt < DIRECTORY_RACE_ATTEMPTS => attempt += 1,
            Err(err) if collides(root, local).await => {
                return Err(invalid(local.key(), &format!("collides with an existing blob ({err})")));
            }
            Err(err) => return Err(backend(err)),
        }
    }
}

/// Writes the sidecar, then renames the data file over the key.
async fn commit(local: &LocalKey<'_>, temp: TempFile, sidecar: &Sidecar) -> Result<(), BlobError> {
    match fs::symlink_metadata(local.data_path()).await {
        Ok(existing) if existing.is_dir() => {
            temp.discard().await;
            return Err(invalid(local.key(), "collides with an existing folder of blobs"));
        }
        Ok(existing) if existing.file_type().is_symlink() => {
            temp.discard().await;
            return Err(symlink_error(io::Error::other("the key is a symbolic link")));
        }
        _ => {}
    }
    let json = match serde_json::to_vec(sidecar) {
        Ok(json) => json,
        Err(err) => {
            temp.discard().await;
            return Err(backend(err));
        }
    };
    if let Err(err) = write_atomic(&local.sidecar_path(), &json).await {
        temp.discard().await;
        return Err(backend(err));
    }
    temp.commit(local.data_path()).await.map_err(backend)
}

/// Whether another key occupies this key's path: a blob where a folder is
/// needed, or a folder where the blob would go.
async fn collides(root: &Path, local: &LocalKey<'_>) -> bool {
    let data_path = local.data_path();
    if fs::metadata(data_path).await.is_ok_and(|meta| meta.is_dir()) {
        return true;
    }
    let mut dir = data_path.parent();
    while let Some(current) = dir {
        if current == root || !current.starts_with(root) {
            break;
        }
        if fs::metadata(current).await.is_ok_and(|meta| !meta.is_dir()) {
            return true;
        }
        dir = current.parent();
    }
    false
}

/// Deletes a blob and its sidecar, then prunes empty folders up to the root.
pub(super) async fn delete(root: &Path, key: &BlobKey) -> Result<(), BlobError> {
    // A key this store refuses cannot hold a blob; above all, it must not
    // reach the sidecar it would name.
    let Ok(local) = LocalKey::new(root, key) else {
        return Ok(());
    };
    let (checked_root, checked_path) = (root.to_path_buf(), local.data_path().to_path_buf());
    blocking(move || refuse_symlinks(&checked_root, &checked_path))
        .await
        .map_err(symlink_error)?;
    let _guard = commit_lock(key).await;
    for path in [local.data_path(), &local.sidecar_path()] {
        match fs::remove_file(path).await {
            Ok(()) => {}
            Err(err) if is_absent(&err) => {}
            Err(err) => return Err(backend(err)),
        }
    }
    prune_empty_dirs(root, local.data_path().parent()).await;
    Ok(())
}

/// Removes empty directories between `from` and the root; stops at the first non-empty one.
async fn prune_empty_dirs(root: &Path, from: Option<&Path>) {
    let mut dir = from;
    while let Some(current) = dir {
        if current == root || !current.starts_with(root) {
            break;
        }
        if fs::remove_dir(current).await.is_err() {
            break;
        }
        dir = current.parent();
    }
}
