//! The files port's errors as problems.

use http::StatusCode;
use platform_ports::blob::SignedUrlError;
use platform_ports::files::FileError;

use crate::problem::Problem;
use crate::security::errors::unauthorized;

/// Every files use case's error.
pub(crate) fn files(err: FileError) -> Problem {
    match err {
        FileError::Validation(errors) => Problem::unprocessable(errors),
        FileError::NotFound => Problem::not_found("no such file"),
        FileError::TooLarge { limit } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "Payload too large")
                .with_detail(format!("the file is larger than the limit of {limit} bytes"))
        }
        FileError::UnsupportedType(content_type) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
        )
        .with_detail(format!("`{content_type}` is not an allowed content type")),
        err @ FileError::Body(_) => Problem::bad_request("the upload body could not be read to its end")
            .with_code("upload_interrupted")
            .with_cause(err),
        FileError::Unauthenticated => unauthorized(),
        err @ FileError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// A refused signed URL: always 403, with a code saying why.
pub(crate) fn signed(err: &SignedUrlError) -> Problem {
    let code = match err {
        SignedUrlError::Expired => "signed_url_expired",
        SignedUrlError::Unavailable => "signed_url_unavailable",
        SignedUrlError::Malformed(_) | SignedUrlError::InvalidKey(_) | SignedUrlError::BadSignature => {
            "invalid_signature"
        }
    };
    Problem::forbidden(err.to_string()).with_code(code)
}

/// An upload without a content type.
pub(crate) fn missing_content_type() -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Unsupported media type",
    )
    .with_detail("send the file's `Content-Type`, or `multipart/form-data` with a `file` part")
}

#[cfg(test)]
mod tests {
    use platform_ports::model::FieldError;

    use super::*;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (files(FileError::NotFound), StatusCode::NOT_FOUND, "not_found"),
            (
                files(FileError::TooLarge { limit: 1 }),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                files(FileError::UnsupportedType("text/html".into())),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                files(FileError::Validation(
                    FieldError::new("filename", "invalid", "bad").into(),
                )),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                files(FileError::Backend("down".into())),
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
            ),
            (
                signed(&SignedUrlError::Expired),
                StatusCode::FORBIDDEN,
                "signed_url_expired",
            ),
            (
                signed(&SignedUrlError::BadSignature),
                StatusCode::FORBIDDEN,
                "invalid_signature",
            ),
        ];
        for (problem, status, code) in cases {
            assert_eq!((problem.status(), problem.code()), (status, code));
        }
    }
}
