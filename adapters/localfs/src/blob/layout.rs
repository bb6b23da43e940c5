//! Where a key lives on disk, and the checks that keep every key below the root.
//!
//! A valid [`BlobKey`] already has no `..`, no absolute form, no backslash and
//! no NUL, so joining its segments cannot leave the root lexically. What is
//! left is the file system itself: a symbolic link below the root (put there
//! by hand or by another program) could lead out of it, so no operation
//! follows one — ancestors are checked with `lstat`, and the final file is
//! opened with `O_NOFOLLOW`.

use std::io;
use std::path::{Path, PathBuf};

use platform_ports::blob::{BlobError, BlobKey};
use platform_ports::model::FieldError;

use crate::atomic::TEMP_SUFFIX;

/// Suffix of the file beside each blob that records its metadata.
pub(super) const SIDECAR_SUFFIX: &str = ".meta.json";

/// Whether a file name is ours (metadata or an in-flight write), not a blob.
pub(super) fn is_internal_name(name: &str) -> bool {
    name.ends_with(SIDECAR_SUFFIX) || name.ends_with(TEMP_SUFFIX)
}

/// A key checked against this store's own rules, with its paths under the root.
#[derive(Clone, Debug)]
pub(super) struct LocalKey<'a> {
    key: &'a BlobKey,
    data: PathBuf,
}

impl<'a> LocalKey<'a> {
    /// Refuses keys that would collide with our metadata or temp files.
    pub(super) fn new(root: &Path, key: &'a BlobKey) -> Result<Self, BlobError> {
        if key.segments().any(is_internal_name) {
            return Err(invalid(key, "uses a reserved suffix (`.meta.json`, `.tmp-write`)"));
        }
        if key.file_name().len() + SIDECAR_SUFFIX.len() > BlobKey::MAX_SEGMENT_LEN {
            return Err(invalid(key, "file name leaves no room for its metadata file"));
        }
        let data = key
            .segments()
            .fold(root.to_path_buf(), |path, segment| path.join(segment));
        Ok(Self { key, data })
    }

    /// The key.
    pub(super) fn key(&self) -> &'a BlobKey {
        self.key
    }

    /// Where the blob's bytes live.
    pub(super) fn data_path(&self) -> &Path {
        &self.data
    }

    /// Where the blob's metadata lives.
    pub(super) fn sidecar_path(&self) -> PathBuf {
        let mut path = self.data.clone().into_os_string();
        path.push(SIDECAR_SUFFIX);
        PathBuf::from(path)
    }

    /// The directory holding the blob.
    pub(super) fn dir(&self) -> &Path {
        self.data.parent().unwrap_or(&self.data)
    }
}

/// The key as an `Invalid` error on field `key`.
pub(super) fn invalid(key: &BlobKey, why: &str) -> BlobError {
    BlobError::Invalid(FieldError::new("key", "invalid", format!("{key}: {why}")))
}

/// The marker inside the error [`refuse_symlinks`] returns.
#[derive(Debug, thiserror::Error)]
#[error("the path runs through a symbolic link")]
struct SymlinkRefused;

/// Fails when any existing path from `root` (exclusive) to `path` (inclusive)
/// is a symbolic link. Blocking; call from a blocking context.
pub(super) fn refuse_symlinks(root: &Path, path: &Path) -> io::Result<()> {
    let Ok(below) = path.strip_prefix(root) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "path is outside the root"));
    };
    let mut current = root.to_path_buf();
    for component in below.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(io::Error::other(SymlinkRefused)),
            Ok(_) => {}
            // The rest does not exist yet (or runs through a file): nothing to follow.
            Err(err) if is_absent(&err) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Opens a file for reading without following a symbolic link at its last component.
pub(super) fn open_no_follow(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// A path that is missing, or that runs through or ends at something other than a file.
pub(super) fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
    )
}

/// Whether the error is our symlink refusal (or the kernel's `O_NOFOLLOW` one, `ELOOP`).
pub(super) fn is_symlink_refusal(err: &io::Error) -> bool {
    if err.get_ref().is_some_and(|inner| inner.is::<SymlinkRefused>()) {
        return true;
    }
    #[cfg(unix)]
    {
        if err.raw_os_error() == Some(libc::ELOOP) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> BlobKey {
        BlobKey::parse(raw).unwrap()
    }

    #[test]
    fn reserved_suffixes_are_refused() {
        let root = Path::new("/srv/blobs");
        for raw in ["a/photo.png.meta.json", "a.meta.json/photo.png", "a/x.tmp-write"] {
            let key = key(raw);
            assert!(
                matches!(LocalKey::new(root, &key), Err(BlobError::Invalid(e)) if e.field == "key"),
                "{raw}"
            );
        }
        let longest = key(&"s".repeat(BlobKey::MAX_SEGMENT_LEN - SIDECAR_SUFFIX.len()));
        assert!(LocalKey::new(root, &longest).is_ok());
        let too_long = key(&"s".repeat(BlobKey::MAX_SEGMENT_LEN - SIDECAR_SUFFIX.len() + 1));
        assert!(LocalKey::new(root, &too_long).is_err());
    }

    #[test]
    fn maps_to_paths_under_the_root() {
        let key = key("blog/post/1/a.txt");
        let local = LocalKey::new(Path::new("/srv/blobs"), &key).unwrap();
        assert_eq!(local.data_path(), Path::new("/srv/blobs/blog/post/1/a.txt"));
        assert_eq!(
            local.sidecar_path(),
            Path::new("/srv/blobs/blog/post/1/a.txt.meta.json")
        );
        assert_eq!(local.dir(), Path::new("/srv/blobs/blog/post/1"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_below_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("real/file")).unwrap();

        assert!(refuse_symlinks(root.path(), &root.path().join("real/missing/deeper")).is_ok());
        let through_dir = refuse_symlinks(root.path(), &root.path().join("link/secret")).unwrap_err();
        assert!(is_symlink_refusal(&through_dir));
        let at_file = refuse_symlinks(root.path(), &root.path().join("real/file")).unwrap_err();
        assert!(is_symlink_refusal(&at_file));
        let opened = open_no_follow(&root.path().join("real/file")).unwrap_err();
        assert!(is_symlink_refusal(&opened), "{opened:?}");
    }
}
