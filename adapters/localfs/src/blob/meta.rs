//! The metadata file beside each blob (`{file}.meta.json`) and the metadata
//! the file system itself gives (size, modification time).
//!
//! The file system keeps no content type, so a JSON sidecar does (chosen over
//! extended attributes, which tmpfs and some mounts drop or refuse). The
//! sidecar also records the size, SHA-256 and inode of the data file it was
//! written for: the data file is renamed into place after its sidecar, so a
//! crash (or a reader racing a writer) can pair a data file with another
//! version's sidecar — the inode tells, and such a sidecar is ignored.

use std::io::{self, Read as _};
use std::path::Path;
use std::time::UNIX_EPOCH;

use chrono::{DateTime, Utc};
use platform_ports::blob::{BlobEntry, BlobInfo, BlobKey};
use serde::{Deserialize, Serialize};

use super::layout::{is_absent, open_no_follow};

/// Content type reported for a blob whose metadata is missing or stale.
pub(super) const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Largest sidecar read; a real one is a few hundred bytes.
const MAX_SIDECAR_LEN: u64 = 64 * 1024;

/// What the sidecar records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sidecar {
    /// The MIME type given at upload.
    pub(super) content_type: String,
    /// Size of the data file it describes (absent in sidecars of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) size: Option<u64>,
    /// Hex SHA-256 of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sha256: Option<String>,
    /// Inode of the data file it describes (Unix only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) inode: Option<u64>,
}

impl Sidecar {
    /// Whether this sidecar was written for the data file with metadata `data`.
    pub(super) fn describes(&self, data: &std::fs::Metadata) -> bool {
        self.size.is_none_or(|size| size == data.len()) && self.inode.is_none_or(|inode| Some(inode) == inode_of(data))
    }
}

/// The data file's inode, where the platform has one.
pub(super) fn inode_of(meta: &std::fs::Metadata) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some(meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Reads a sidecar (blocking). Missing or unreadable JSON reads as `None`: the
/// blob is still served, as `application/octet-stream`.
pub(super) fn read_sidecar(path: &Path) -> io::Result<Option<Sidecar>> {
    let file = match open_no_follow(path) {
        Ok(file) => file,
        Err(err) if is_absent(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    let mut raw = Vec::new();
    file.take(MAX_SIDECAR_LEN).read_to_end(&mut raw)?;
    match serde_json::from_slice(&raw) {
        Ok(sidecar) => Ok(Some(sidecar)),
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "ignoring an unreadable blob metadata file");
            Ok(None)
        }
    }
}

/// A blob's metadata from its data file and (if it matches) its sidecar.
pub(super) fn info(key: &BlobKey, data: &std::fs::Metadata, sidecar: Option<Sidecar>) -> BlobInfo {
    let sidecar = sidecar.filter(|s| s.describes(data));
    BlobInfo {
        key: key.clone(),
        size: data.len(),
        content_type: sidecar
            .as_ref()
            .map_or_else(|| DEFAULT_CONTENT_TYPE.to_owned(), |s| s.content_type.clone()),
        etag: Some(etag(data)),
        sha256: sidecar.and_then(|s| s.sha256),
        last_modified: last_modified(data),
    }
}

/// A listing entry from the data file's metadata alone.
pub(super) fn entry(key: BlobKey, data: &std::fs::Metadata) -> BlobEntry {
    BlobEntry {
        key,
        size: data.len(),
        etag: Some(etag(data)),
        last_modified: last_modified(data),
    }
}

/// A weak validator in the style of common web servers: inode, size and
/// modification time in hex; every write renames a new file in, so it changes.
fn etag(data: &std::fs::Metadata) -> String {
    let nanos = data
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}-{nanos:x}", inode_of(data).unwrap_or(0), data.len())
}

fn last_modified(data: &std::fs::Metadata) -> Option<DateTime<Utc>> {
    data.modified().ok().map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sidecar_describes_only_its_own_data_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, b"12345").unwrap();
        let data = std::fs::metadata(&path).unwrap();
        let own = Sidecar {
            content_type: "text/plain".into(),
            size: Some(5),
            sha256: Some("ab".into()),
            inode: inode_of(&data),
        };
        assert!(own.describes(&data));
        assert!(
            !Sidecar {
                size: Some(6),
                ..own.clone()
            }
            .describes(&data)
        );
        let legacy = Sidecar {
            content_type: "text/plain".into(),
            size: None,
            sha256: None,
            inode: None,
        };
        assert!(legacy.describes(&data), "sidecars without size or inode are trusted");

        let key = BlobKey::parse("a/b").unwrap();
        let stale = info(
            &key,
            &data,
            Some(Sidecar {
                size: Some(6),
                ..own.clone()
            }),
        );
        assert_eq!(stale.content_type, DEFAULT_CONTENT_TYPE);
        assert_eq!(stale.sha256, None);
        let fresh = info(&key, &data, Some(own));
        assert_eq!((fresh.content_type.as_str(), fresh.size), ("text/plain", 5));
        assert_eq!(fresh.sha256.as_deref(), Some("ab"));
    }

    #[test]
    fn unreadable_sidecars_read_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.meta.json");
        assert_eq!(read_sidecar(&path).unwrap(), None);
        std::fs::write(&path, b"not json").unwrap();
        assert_eq!(read_sidecar(&path).unwrap(), None);
        std::fs::write(&path, br#"{"content_type":"image/png"}"#).unwrap();
        assert_eq!(read_sidecar(&path).unwrap().unwrap().content_type, "image/png");
    }
}
