//! Crash-safe file replacement shared by both adapters.

use std::io;
use std::path::Path;

use tokio::fs;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// Suffix of in-flight temporary files; the blob store refuses keys ending with it.
pub(crate) const TEMP_SUFFIX: &str = ".tmp-write";

/// Writes `data` to `path` so that readers see either the old file or the whole new one.
///
/// The bytes go to a uniquely named temporary file in the same directory (so
/// the rename cannot cross file systems), are flushed to disk, and the file is
/// renamed over `path`. The parent directory must exist.
pub(crate) async fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory"))?;
    let temp = dir.join(format!(".{}{TEMP_SUFFIX}", Uuid::new_v4().simple()));
    let written = write_and_rename(&temp, path, data).await;
    if written.is_err() {
        // Best effort: a leftover temp file is harmless but wastes space.
        let _ = fs::remove_file(&temp).await;
    }
    written?;
    sync_dir(dir).await;
    Ok(())
}

async fn write_and_rename(temp: &Path, path: &Path, data: &[u8]) -> io::Result<()> {
    let mut file = fs::File::create_new(temp).await?;
    file.write_all(data).await?;
    file.flush().await?;
    file.sync_all().await?;
    drop(file);
    fs::rename(temp, path).await
}

/// Makes the rename itself durable; not every platform can open a directory, so failures are ignored.
async fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir).await {
        let _ = handle.sync_all().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        write_atomic(&path, b"first").await.unwrap();
        write_atomic(&path, b"second").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"second");
        let mut entries = fs::read_dir(dir.path()).await.unwrap();
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            names.push(entry.file_name());
        }
        assert_eq!(names, vec![std::ffi::OsString::from("file")]);
    }

    #[tokio::test]
    async fn fails_when_the_directory_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("file");
        let err = write_atomic(&path, b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
