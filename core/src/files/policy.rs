//! What an upload must satisfy: its size and content type.

use std::time::Duration;

/// The files module's settings (`blob.max_upload_bytes`,
/// `blob.allowed_content_types`, `blob.signed_url_ttl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesSettings {
    /// Largest upload, in bytes.
    pub max_upload_bytes: u64,
    /// Allowed MIME types: `type/subtype`, `type/*` or `*/*`.
    pub allowed_content_types: Vec<String>,
    /// Validity of a signed download URL when the caller names none.
    pub signed_url_ttl: Duration,
}

impl Default for FilesSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 * 1024 * 1024,
            allowed_content_types: vec!["*/*".to_owned()],
            signed_url_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// Whether `content_type` (parameters such as `; charset=` ignored, case
/// insensitive) matches one of `allowed`.
#[must_use]
pub fn content_type_allowed(allowed: &[String], content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some((kind, _)) = essence.split_once('/') else {
        return false;
    };
    allowed.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        pattern == "*/*" || pattern == essence || pattern.strip_suffix("/*").is_some_and(|p| p == kind)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly_by_type_or_everything() {
        let allowed = vec!["image/*".to_owned(), "application/pdf".to_owned()];
        assert!(content_type_allowed(&allowed, "image/png"));
        assert!(content_type_allowed(&allowed, "IMAGE/JPEG"));
        assert!(content_type_allowed(&allowed, "application/pdf; name=x"));
        assert!(!content_type_allowed(&allowed, "application/pdfx"));
        assert!(!content_type_allowed(&allowed, "text/html"));
        assert!(!content_type_allowed(&allowed, "imagepng"));
        assert!(content_type_allowed(&["*/*".to_owned()], "text/html"));
        assert!(!content_type_allowed(&[], "text/html"));
    }
}
