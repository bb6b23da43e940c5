//! rust-s3's errors in the port's terms.

use platform_ports::blob::BlobError;
use s3::error::S3Error;

/// The HTTP status of a refused request, when that is what failed.
pub(crate) fn status_of(err: &S3Error) -> Option<u16> {
    match err {
        S3Error::HttpFailWithBody(status, _) => Some(*status),
        _ => None,
    }
}

/// 404 is `NotFound`; everything else is the backend failing.
pub(crate) fn s3_error(err: S3Error) -> BlobError {
    match status_of(&err) {
        Some(404) => BlobError::NotFound,
        _ => backend(err),
    }
}

/// Any error as [`BlobError::Backend`].
pub(crate) fn backend(err: impl Into<platform_ports::BoxError>) -> BlobError {
    BlobError::Backend(err.into())
}
