//! A request body as an [`Upload`]: the raw body with its `Content-Type`, or
//! the `file` part of a `multipart/form-data` body. Either way the bytes stay
//! a stream (multer parses the parts as they arrive).

use axum::extract::Request;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use platform_ports::blob::BlobBody;
use platform_ports::files::{AttachedTo, Upload};
use platform_ports::model::FieldError;

use crate::files::errors::missing_content_type;
use crate::problem::Problem;

/// The multipart part that carries the file.
const FILE_PART: &str = "file";

/// Reads the upload in `request`; `filename` names a raw body's file.
///
/// # Errors
/// 415 without a content type; 400 for a malformed multipart body; 422
/// when it has no `file` part.
pub(crate) async fn read(
    request: Request,
    filename: Option<&str>,
    attach_to: Option<AttachedTo>,
) -> Result<Upload, Problem> {
    let headers = request.headers();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(missing_content_type)?
        .to_owned();
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "multipart/form-data" {
        return multipart(request, &content_type, attach_to).await;
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    Ok(Upload {
        filename: filename.unwrap_or("file").to_owned(),
        content_type,
        length,
        body: BlobBody::from_stream(request.into_body().into_data_stream()),
        attach_to,
    })
}

/// The first part named `file`, streamed; the parts after it are never read.
async fn multipart(request: Request, content_type: &str, attach_to: Option<AttachedTo>) -> Result<Upload, Problem> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|err| Problem::bad_request(format!("multipart body: {err}")).with_code("malformed_body"))?;
    let mut parts = multer::Multipart::new(request.into_body().into_data_stream(), boundary);
    loop {
        let field = parts
            .next_field()
            .await
            .map_err(|err| Problem::bad_request(format!("multipart body: {err}")).with_code("malformed_body"))?;
        let Some(field) = field else {
            return Err(Problem::unprocessable(
                FieldError::new(FILE_PART, "required", "send the file in a part named `file`").into(),
            ));
        };
        if field.name() != Some(FILE_PART) {
            continue;
        }
        let filename = field.file_name().unwrap_or("file").to_owned();
        let content_type = field
            .content_type()
            .map_or_else(|| "application/octet-stream".to_owned(), ToString::to_string);
        return Ok(Upload {
            filename,
            content_type,
            length: None,
            body: BlobBody::from_stream(field),
            attach_to,
        });
    }
}
