//! Signed URLs the platform serves itself (stores without their own URL
//! signing, like the local file system): the HTTP layer checks them here.

use chrono::{DateTime, Utc};
use shaku::Interface;

use super::{BlobKey, SignedAccess};
use crate::model::FieldError;

/// Path under which the HTTP adapter serves signed blob URLs:
/// `{SIGNED_URL_PATH}/{percent-encoded key}?expires={unix seconds}&signature={hex}`,
/// `GET` to download and `PUT` to upload.
pub const SIGNED_URL_PATH: &str = "/api/v1/files/signed";

/// Why a signed URL is refused (every case maps to 403).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedUrlError {
    /// A query parameter is missing or not in its format; names it.
    #[error("malformed signed URL: {0}")]
    Malformed(&'static str),
    /// The key in the path is not a valid key.
    #[error("invalid key in signed URL: {}", .0.message)]
    InvalidKey(FieldError),
    /// The signature does not match key, method and expiry (tampered, or another key's).
    #[error("signature does not match")]
    BadSignature,
    /// The signature matches but the URL is past its expiry.
    #[error("signed URL expired")]
    Expired,
    /// No signing key is configured, so no URL can be valid.
    #[error("signed URLs are not configured")]
    Unavailable,
}

/// Checks signed URLs issued by a [`super::BlobStore`] whose presigned URLs
/// point at [`SIGNED_URL_PATH`].
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SignedUrlVerifier: Interface {
    /// Whether a request may use `access` on `key` at `now`.
    ///
    /// `key` is the percent-decoded path after [`SIGNED_URL_PATH`]`/`;
    /// `access` comes from the request's HTTP method (never from the query);
    /// `expires` and `signature` are the raw query values. The signature is
    /// compared in constant time and checked before the expiry, so a
    /// tampered expiry reads as [`SignedUrlError::BadSignature`].
    ///
    /// # Errors
    /// Every [`SignedUrlError`].
    fn verify(
        &self,
        key: &str,
        access: SignedAccess,
        expires: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<BlobKey, SignedUrlError>;
}
