//! `{mount}/files*` (`/api/v1/files*`): upload, metadata, download, delete, signed URLs.

use std::fmt::Write as _;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, ETAG, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use platform_ports::files::Download;
use platform_ports::model::FileId;

use crate::extract::{AppJson, Ctx};
use crate::files::dto::{FileView, SignedUrlView};
use crate::files::{FilesDeps, errors};
use crate::module::Mount;
use crate::openapi::components::{
    BadRequest, Binary, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized, Unprocessable,
    UnsupportedMediaType, UploadQuery,
};
use crate::params::{PathParams, QueryParams, invalid_parameter};
use crate::problem::Problem;

/// The header carrying a download's SHA-256 (lowercase hex).
pub(crate) const CHECKSUM_HEADER: &str = "x-checksum-sha256";

/// Uploads a file.
///
/// Send the bytes as the body with their `Content-Type` (and `?filename=`),
/// or as the `file` part of a `multipart/form-data` body. The body streams
/// to the blob store: one over `blob.max_upload_bytes` is refused with 413
/// as soon as it passes the limit, a content type outside
/// `blob.allowed_content_types` with 415 before a byte is stored.
#[utoipa::path(
    post,
    path = "/files",
    tag = "files",
    params(UploadQuery),
    request_body(content = inline(Binary), description = "The file's bytes with their own `Content-Type` (any type in \
        `blob.allowed_content_types`), or `multipart/form-data` with a `file` part.",
        content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored.", body = FileView,
            headers(("Location" = String, description = "`/api/v1/files/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn upload(
    State(deps): State<FilesDeps>,
    State(mount): State<Mount>,
    Ctx(ctx): Ctx,
    query: QueryParams,
    request: Request,
) -> Result<Response, Problem> {
    let upload = crate::files::upload::read(request, query.text("filename")?, None).await?;
    let file = deps.files.upload(&ctx, upload).await.map_err(errors::files)?;
    let location = mount.path(format_args!("/files/{}", file.id));
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(FileView::from(file)),
    )
        .into_response())
}

/// A file's metadata.
#[utoipa::path(
    get,
    path = "/files/{id}",
    tag = "files",
    params(("id" = uuid::Uuid, Path, description = "The file's id.")),
    responses(
        (status = 200, description = "The file's metadata.", body = FileView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn get(
    State(deps): State<FilesDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<AppJson<FileView>, Problem> {
    let id = path.parse::<FileId>("id")?;
    let file = deps.files.get(&ctx, id).await.map_err(errors::files)?;
    Ok(AppJson(file.into()))
}

/// Downloads a file's bytes (streamed), with its content type, length and
/// `x-checksum-sha256`.
#[utoipa::path(
    get,
    path = "/files/{id}/content",
    tag = "files",
    params(("id" = uuid::Uuid, Path, description = "The file's id.")),
    responses(
        (status = 200, description = "The bytes, with the `Content-Type` they were uploaded with.",
            content_type = "*/*", body = inline(Binary)),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn download(
    State(deps): State<FilesDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<Response, Problem> {
    let id = path.parse::<FileId>("id")?;
    let download = deps.files.download(&ctx, id).await.map_err(errors::files)?;
    Ok(streamed(download))
}

/// A URL that downloads the file without a token until it expires.
///
/// With the local store it is the platform's own signed route; with S3 a
/// presigned URL of the bucket.
#[utoipa::path(
    post,
    path = "/files/{id}/signed-url",
    tag = "files",
    params(
        ("id" = uuid::Uuid, Path, description = "The file's id."),
        ("ttl_seconds" = Option<u32>, Query, minimum = 1, maximum = 604_800,
            description = "Validity in seconds, at most 7 days (default `blob.signed_url_ttl`); out of range: 422 on `ttl`."),
    ),
    responses(
        (status = 200, description = "The signed URL.", body = SignedUrlView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn signed_url(
    State(deps): State<FilesDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    query: QueryParams,
) -> Result<AppJson<SignedUrlView>, Problem> {
    let id = path.parse::<FileId>("id")?;
    let ttl = query
        .text("ttl_seconds")?
        .map(|raw| {
            raw.parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| invalid_parameter("ttl_seconds", "must be a whole number of seconds"))
        })
        .transpose()?;
    let url = deps.files.signed_url(&ctx, id, ttl).await.map_err(errors::files)?;
    Ok(AppJson(url.into()))
}

/// Deletes a file (its metadata now, its bytes right after).
#[utoipa::path(
    delete,
    path = "/files/{id}",
    tag = "files",
    params(("id" = uuid::Uuid, Path, description = "The file's id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn delete(
    State(deps): State<FilesDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
) -> Result<StatusCode, Problem> {
    let id = path.parse::<FileId>("id")?;
    deps.files.delete(&ctx, id).await.map_err(errors::files)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A download as a streamed response: its bytes are never all in memory.
pub(crate) fn streamed(download: Download) -> Response {
    let file = download.file;
    let mut headers = HeaderMap::new();
    let content_type =
        HeaderValue::from_str(&file.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Ok(disposition) = HeaderValue::from_str(&attachment(&file.filename)) {
        headers.insert(CONTENT_DISPOSITION, disposition);
    }
    if let Ok(checksum) = HeaderValue::from_str(&file.sha256)
        && !file.sha256.is_empty()
    {
        headers.insert(CHECKSUM_HEADER, checksum.clone());
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", file.sha256)) {
            headers.insert(ETAG, etag);
        }
    }
    (headers, Body::from_stream(download.body)).into_response()
}

/// `attachment; filename*=UTF-8''…` (RFC 6266 / 8187): any file name, safely quoted.
fn attachment(filename: &str) -> String {
    let mut value = String::from("attachment; filename*=UTF-8''");
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            value.push(char::from(byte));
        } else {
            let _ = write!(value, "%{byte:02X}");
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::attachment;

    #[test]
    fn file_names_are_percent_encoded_in_the_disposition() {
        assert_eq!(attachment("a b\"c.png"), "attachment; filename*=UTF-8''a%20b%22c.png");
        assert_eq!(attachment("é.txt"), "attachment; filename*=UTF-8''%C3%A9.txt");
    }
}
