//! Blob keys and listing prefixes, validated once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

/// A blob key every store can hold: `{module}/{resource_type}/{id}/{filename}` by
/// convention, any relative `/`-separated path by rule.
///
/// Rules: 1 to [`BlobKey::MAX_LEN`] bytes; relative (no leading `/`); segments
/// non-empty, not `.` or `..`, at most [`BlobKey::MAX_SEGMENT_LEN`] bytes; no
/// backslash, NUL or other control character. A key therefore names exactly
/// one path below a store's root and fits S3's 1024-byte limit. A store may
/// still refuse a key it cannot hold (e.g. where another key is a folder).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobKey(String);

impl BlobKey {
    /// Longest key, in bytes (S3's limit).
    pub const MAX_LEN: usize = 1024;
    /// Longest segment, in bytes (`NAME_MAX` of common file systems).
    pub const MAX_SEGMENT_LEN: usize = 255;

    /// Validates a whole key.
    ///
    /// # Errors
    /// A [`FieldError`] on field `key` naming the broken rule.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = |why: &str| FieldError::new("key", "invalid", format!("{}: {why}", printable(raw)));
        if raw.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(invalid("longer than 1024 bytes"));
        }
        if raw.starts_with('/') {
            return Err(invalid("must be a relative path"));
        }
        check_characters(raw).map_err(invalid)?;
        for segment in raw.split('/') {
            check_segment(segment).map_err(invalid)?;
        }
        Ok(Self(raw.to_owned()))
    }

    /// Builds `{module}/{resource_type}/{id}/{filename}`, each part one segment.
    ///
    /// # Errors
    /// A [`FieldError`] naming the part (`module`, `resource_type`, `id`,
    /// `filename`) that is not a valid segment, or `key` when the whole is too long.
    pub fn from_parts(module: &str, resource_type: &str, id: &str, filename: &str) -> Result<Self, FieldError> {
        for (field, part) in [
            ("module", module),
            ("resource_type", resource_type),
            ("id", id),
            ("filename", filename),
        ] {
            let invalid = |why: &str| FieldError::new(field, "invalid", format!("{}: {why}", printable(part)));
            if part.contains('/') {
                return Err(invalid("must not contain `/`"));
            }
            check_characters(part).map_err(invalid)?;
            check_segment(part).map_err(invalid)?;
        }
        Self::parse(&format!("{module}/{resource_type}/{id}/{filename}"))
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its `/`-separated segments (never empty, never `.` or `..`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment.
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for BlobKey {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BlobKey> for String {
    fn from(value: BlobKey) -> Self {
        value.0
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobKey({:?})", self.0)
    }
}

/// A listing prefix: the start of a key, matched byte for byte as S3 does.
///
/// Empty lists everything. Every complete segment (before the last `/`) follows
/// the [`BlobKey`] rules; the last, partial segment may be any start of one
/// (`blog/post/4` matches `blog/post/4/a` and `blog/post/42/b`).
#[derive(Clone, Default, PartialEq, Eq, Hash, Debug)]
pub struct BlobPrefix(String);

impl BlobPrefix {
    /// Validates a prefix.
    ///
    /// # Errors
    /// A [`FieldError`] on field `prefix` naming the broken rule.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = |why: &str| FieldError::new("prefix", "invalid", format!("{}: {why}", printable(raw)));
        if raw.len() > BlobKey::MAX_LEN {
            return Err(invalid("longer than 1024 bytes"));
        }
        if raw.starts_with('/') {
            return Err(invalid("must be relative"));
        }
        check_characters(raw).map_err(invalid)?;
        let partial = match raw.rsplit_once('/') {
            Some((folders, partial)) => {
                for segment in folders.split('/') {
                    check_segment(segment).map_err(invalid)?;
                }
                partial
            }
            None => raw,
        };
        if partial.len() > BlobKey::MAX_SEGMENT_LEN {
            return Err(invalid("has a segment longer than 255 bytes"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The prefix.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The complete segments (the folder every match lies under) and the partial last one.
    #[must_use]
    pub fn split(&self) -> (Option<&str>, &str) {
        match self.0.rsplit_once('/') {
            Some((folders, partial)) => (Some(folders), partial),
            None => (None, &self.0),
        }
    }

    /// Whether `key` starts with this prefix.
    #[must_use]
    pub fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.0)
    }
}

impl From<BlobKey> for BlobPrefix {
    fn from(key: BlobKey) -> Self {
        Self(key.0)
    }
}

fn check_characters(raw: &str) -> Result<(), &'static str> {
    if raw.contains('\\') {
        return Err("must not contain a backslash");
    }
    if raw.contains('\0') {
        return Err("must not contain NUL");
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

fn check_segment(segment: &str) -> Result<(), &'static str> {
    match segment {
        "" => Err("must not contain empty segments"),
        "." | ".." => Err("must not contain `.` or `..` segments"),
        _ if segment.len() > BlobKey::MAX_SEGMENT_LEN => Err("has a segment longer than 255 bytes"),
        _ => Ok(()),
    }
}

/// The value as it may appear in an error message: bounded, without control characters.
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
mod tests;
