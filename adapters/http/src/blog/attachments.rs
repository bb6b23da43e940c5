//! `{mount}/posts/{id}/attachments` and `{mount}/posts/{id}/cover`: a post's
//! files, stored through the files module (same body forms, limits and
//! content types as `POST /api/v1/files`).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::LOCATION;
use platform_ports::blog::AttachmentPurpose;
use platform_ports::model::PostId;

use crate::blog::{BlogDeps, errors};
use crate::extract::{AppJson, Ctx};
use crate::files::{FileView, upload};
use crate::openapi::components::{
    BadRequest, Binary, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized, Unprocessable,
    UnsupportedMediaType, UploadQuery,
};
use crate::params::{PathParams, QueryParams};
use crate::problem::Problem;

/// Attaches a file to a post.
///
/// The body is the file (with its `Content-Type` and `?filename=`) or
/// `multipart/form-data` with a `file` part. Listed in `GET /posts/{id}`,
/// deleted with the post.
#[utoipa::path(
    post,
    path = "/posts/{id}/attachments",
    tag = "blog",
    params(
        ("id" = uuid::Uuid, Path, description = "The post's id."),
        UploadQuery,
    ),
    request_body(content = inline(Binary), description = "The file's bytes with their own `Content-Type`, or \
        `multipart/form-data` with a `file` part.",
        content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored.", body = FileView,
            headers(("Location" = String, description = "`/api/v1/files/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn attach(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    query: QueryParams,
    request: Request,
) -> Result<Response, Problem> {
    store(deps, ctx, path, query, request, AttachmentPurpose::Attachment).await
}

/// Sets a post's cover image (an `image/*`), replacing the previous one.
#[utoipa::path(
    put,
    path = "/posts/{id}/cover",
    tag = "blog",
    params(
        ("id" = uuid::Uuid, Path, description = "The post's id."),
        UploadQuery,
    ),
    request_body(content = inline(Binary), description = "The image's bytes with its `image/*` type, or \
        `multipart/form-data` with a `file` part.",
        content_type = "image/*"),
    responses(
        (status = 201, description = "Stored.", body = FileView,
            headers(("Location" = String, description = "`/api/v1/files/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    )
)]
pub(crate) async fn cover(
    State(deps): State<BlogDeps>,
    Ctx(ctx): Ctx,
    path: PathParams,
    query: QueryParams,
    request: Request,
) -> Result<Response, Problem> {
    store(deps, ctx, path, query, request, AttachmentPurpose::Cover).await
}

async fn store(
    deps: BlogDeps,
    ctx: std::sync::Arc<platform_ports::model::RequestContext>,
    path: PathParams,
    query: QueryParams,
    request: Request,
    purpose: AttachmentPurpose,
) -> Result<Response, Problem> {
    let id = path.parse::<PostId>("id")?;
    let upload = upload::read(request, query.text("filename")?, None).await?;
    let file = deps
        .blog
        .attach(&ctx, id, upload, purpose)
        .await
        .map_err(errors::blog)?;
    // The file's own resource is the files module's, whose mount is fixed
    // (its signed route is `platform_ports::blob::SIGNED_URL_PATH`).
    let location = format!("/api/v1/files/{}", file.id);
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        AppJson(FileView::from(file)),
    )
        .into_response())
}
