//! Blob key validation: a key must map to exactly one file under the root.

use std::path::{Path, PathBuf};

use platform_ports::blob::BlobError;

use crate::atomic::TEMP_SUFFIX;

/// Suffix of the file beside each blob that records its content type.
pub(super) const SIDECAR_SUFFIX: &str = ".meta.json";

/// Longest key accepted, in bytes.
pub(super) const MAX_KEY_LEN: usize = 1024;

/// Longest segment accepted, in bytes (`NAME_MAX` on common file systems).
pub(super) const MAX_SEGMENT_LEN: usize = 255;

/// A key that passed validation; its segments are safe to join under the root.
#[derive(Clone, Copy, Debug)]
pub(super) struct BlobKey<'a>(&'a str);

impl<'a> BlobKey<'a> {
    /// Checks `raw` against every rule, naming the broken one in the error.
    pub(super) fn parse(raw: &'a str) -> Result<Self, BlobError> {
        let invalid = |why: &str| BlobError::InvalidKey(format!("{}: {why}", printable(raw)));
        if raw.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(invalid("longer than 1024 bytes"));
        }
        if raw.starts_with('/') || Path::new(raw).has_root() || Path::new(raw).is_absolute() {
            return Err(invalid("must be a relative path"));
        }
        if raw.contains('\\') {
            return Err(invalid("must not contain a backslash"));
        }
        if raw.contains('\0') {
            return Err(invalid("must not contain NUL"));
        }
        if raw.chars().any(char::is_control) {
            return Err(invalid("must not contain control characters"));
        }
        for segment in raw.split('/') {
            match segment {
                "" => return Err(invalid("must not contain empty segments")),
                "." | ".." => return Err(invalid("must not contain `.` or `..` segments")),
                _ if segment.len() > MAX_SEGMENT_LEN => {
                    return Err(invalid("has a segment longer than 255 bytes"));
                }
                // A directory named like a sidecar would collide with the sidecar of its sibling.
                _ if segment.ends_with(SIDECAR_SUFFIX) || segment.ends_with(TEMP_SUFFIX) => {
                    return Err(invalid("uses a reserved suffix"));
                }
                _ => {}
            }
        }
        let file_name = raw.rsplit('/').next().unwrap_or(raw);
        if file_name.len() + SIDECAR_SUFFIX.len() > MAX_SEGMENT_LEN {
            return Err(invalid("file name leaves no room for its metadata file"));
        }
        Ok(Self(raw))
    }

    /// The key as given.
    pub(super) fn as_str(self) -> &'a str {
        self.0
    }

    /// Where the blob's bytes live.
    pub(super) fn data_path(self, root: &Path) -> PathBuf {
        self.0
            .split('/')
            .fold(root.to_path_buf(), |path, segment| path.join(segment))
    }

    /// Where the blob's content type lives.
    pub(super) fn sidecar_path(self, root: &Path) -> PathBuf {
        let mut path = self.data_path(root).into_os_string();
        path.push(SIDECAR_SUFFIX);
        PathBuf::from(path)
    }
}

/// The key as it may appear in an error message: bounded and without control characters.
fn printable(raw: &str) -> String {
    let mut shown: String = raw
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if raw.chars().count() > 80 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(key: &str) -> bool {
        matches!(BlobKey::parse(key), Err(BlobError::InvalidKey(_)))
    }

    #[test]
    fn accepts_ordinary_keys() {
        for key in [
            "blog/post/42/cover.png",
            "file",
            "a/b/c/d/e/f",
            ".hidden/x",
            "a..b/c",
            "données/été.txt",
        ] {
            assert!(BlobKey::parse(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn rejects_empty_and_absolute_keys() {
        assert!(rejected(""));
        assert!(rejected("/etc/passwd"));
        assert!(rejected("/"));
    }

    #[test]
    fn rejects_dot_segments_and_empty_segments() {
        assert!(rejected("a/../b"));
        assert!(rejected(".."));
        assert!(rejected("./a"));
        assert!(rejected("a/."));
        assert!(rejected("a//b"));
        assert!(rejected("a/b/"));
    }

    #[test]
    fn rejects_backslash_nul_and_control_characters() {
        assert!(rejected("a\\b"));
        assert!(rejected("..\\..\\x"));
        assert!(rejected("a\0b"));
        assert!(rejected("a\nb"));
    }

    #[test]
    fn enforces_length_limits() {
        let segment = "s".repeat(MAX_SEGMENT_LEN - SIDECAR_SUFFIX.len());
        assert!(BlobKey::parse(&segment).is_ok());
        assert!(rejected(&format!("{segment}x")));
        assert!(rejected(&format!("{}/file", "d".repeat(MAX_SEGMENT_LEN + 1))));
        assert!(BlobKey::parse(&format!("{}/file", "d".repeat(MAX_SEGMENT_LEN))).is_ok());

        let dir = "d".repeat(100);
        let long = format!(
            "{dir}/{dir}/{dir}/{dir}/{dir}/{dir}/{dir}/{dir}/{dir}/{dir}/{}",
            "f".repeat(14)
        );
        assert_eq!(long.len(), MAX_KEY_LEN);
        assert!(BlobKey::parse(&long).is_ok());
        assert!(rejected(&format!("{long}x")));
    }

    #[test]
    fn rejects_reserved_suffixes() {
        assert!(rejected("a/photo.png.meta.json"));
        assert!(rejected("a.meta.json/photo.png"));
        assert!(rejected(&format!("a/x{TEMP_SUFFIX}")));
    }

    #[test]
    fn maps_to_paths_under_the_root() {
        let key = BlobKey::parse("blog/post/1/a.txt").unwrap();
        let root = Path::new("/srv/blobs");
        assert_eq!(key.data_path(root), Path::new("/srv/blobs/blog/post/1/a.txt"));
        assert_eq!(
            key.sidecar_path(root),
            Path::new("/srv/blobs/blog/post/1/a.txt.meta.json")
        );
    }

    #[test]
    fn error_messages_are_bounded() {
        let Err(BlobError::InvalidKey(message)) = BlobKey::parse(&"x".repeat(2000)) else {
            panic!("expected InvalidKey");
        };
        assert!(message.len() < 200, "{message}");
    }
}
