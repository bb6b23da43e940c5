//! Crash-safe file replacement shared by both adapters.

use std::io;
use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::{AsyncWriteExt, BufWriter};
use uuid::Uuid;

/// Write buffer of a temp file: streamed chunks (often 8-64 KiB) reach the
/// blocking pool in fewer, larger writes.
const WRITE_BUFFER: usize = 256 * 1024;

/// Suffix of in-flight temporary files; the blob store refuses keys ending with it.
pub(crate) const TEMP_SUFFIX: &str = ".tmp-write";

/// A uniquely named temporary file beside its destination, removed unless committed.
///
/// It lives in the destination's directory so the final rename cannot cross
/// file systems; [`TempFile::commit`] flushes it to disk before renaming, so
/// readers see either the old file or the whole new one, even after a crash.
pub(crate) struct TempFile {
    path: PathBuf,
    file: BufWriter<fs::File>,
    committed: bool,
}

impl TempFile {
    /// Creates the file in `dir`, which must exist.
    pub(crate) async fn create_in(dir: &Path) -> io::Result<Self> {
        let path = dir.join(format!(".{}{TEMP_SUFFIX}", Uuid::new_v4().simple()));
        let file = fs::File::create_new(&path).await?;
        Ok(Self {
            path,
            file: BufWriter::with_capacity(WRITE_BUFFER, file),
            committed: false,
        })
    }

    /// Appends `data`.
    pub(crate) async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data).await
    }

    /// Flushes and fsyncs the bytes; returns the file's metadata (size, inode).
    pub(crate) async fn sync(&mut self) -> io::Result<std::fs::Metadata> {
        self.file.flush().await?;
        self.file.get_ref().sync_all().await?;
        self.file.get_ref().metadata().await
    }

    /// Renames the (synced) file over `dest` and makes the rename durable.
    pub(crate) async fn commit(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest).await?;
        self.committed = true;
        if let Some(dir) = dest.parent() {
            sync_dir(dir).await;
        }
        Ok(())
    }

    /// Removes the file now (the error path of a write that is not cancelled).
    pub(crate) async fn discard(mut self) {
        self.committed = true;
        // Best effort: a leftover temp file is harmless but wastes space.
        let _ = fs::remove_file(&self.path).await;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Reached when the writing future is dropped mid-way (a cancelled
        // upload); unlinking is one quick syscall, fine on the async thread.
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `data` to `path` so that readers see either the old file or the whole new one.
///
/// The parent directory must exist.
pub(crate) async fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent directory"))?;
    let mut temp = TempFile::create_in(dir).await?;
    let written = async {
        temp.write_all(data).await?;
        temp.sync().await
    }
    .await;
    match written {
        Ok(_) => temp.commit(path).await,
        Err(err) => {
            temp.discard().await;
            Err(err)
        }
    }
}

/// Makes a rename durable; not every platform can open a directory, so failures are ignored.
async fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir).await {
        let _ = handle.sync_all().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut entries = fs::read_dir(dir).await.unwrap();
        let mut names = Vec::new();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            names.push(entry.file_name());
        }
        names
    }

    #[tokio::test]
    async fn replaces_the_file_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        write_atomic(&path, b"first").await.unwrap();
        write_atomic(&path, b"second").await.unwrap();
        assert_eq!(fs::read(&path).await.unwrap(), b"second");
        assert_eq!(names(dir.path()).await, vec![std::ffi::OsString::from("file")]);
    }

    #[tokio::test]
    async fn fails_when_the_directory_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("file");
        let err = write_atomic(&path, b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn an_uncommitted_temp_file_is_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut temp = TempFile::create_in(dir.path()).await.unwrap();
        temp.write_all(b"partial").await.unwrap();
        assert_eq!(names(dir.path()).await.len(), 1);
        drop(temp);
        assert!(names(dir.path()).await.is_empty());
    }

    #[tokio::test]
    async fn sync_reports_the_written_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut temp = TempFile::create_in(dir.path()).await.unwrap();
        temp.write_all(b"12345").await.unwrap();
        assert_eq!(temp.sync().await.unwrap().len(), 5);
        temp.commit(&dir.path().join("done")).await.unwrap();
        assert_eq!(names(dir.path()).await, vec![std::ffi::OsString::from("done")]);
    }
}
