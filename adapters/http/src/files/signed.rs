//! `GET {SIGNED_URL_PATH}/{key}?expires=…&signature=…`: the download URLs the
//! local store signs (HMAC over key, method and expiry with
//! `blob.signing_key`). The signature is the credential; an expired or
//! tampered URL is 403.

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use platform_ports::blob::SignedAccess;

use crate::files::routes::streamed;
use crate::files::{FilesDeps, errors};
use crate::openapi::components::{BadRequest, Binary, NotFound, SignedUrlRefused};
use crate::params::{PathParams, QueryParams};
use crate::problem::Problem;

/// Downloads a blob through a platform-signed URL (no token).
///
/// Issued by `POST /api/v1/files/{id}/signed-url` with the local store;
/// `403 signed_url_expired` after its expiry, `403 invalid_signature` when
/// any part of it was changed.
#[utoipa::path(
    get,
    path = "/files/signed/{*key}",
    tag = "files",
    params(
        ("key" = String, Path, description = "The blob key, percent-encoded."),
        ("expires" = i64, Query, description = "Expiry, Unix seconds."),
        ("signature" = String, Query, pattern = "^[0-9A-Fa-f]{64}$",
            description = "Hex HMAC-SHA256 over key, method and expiry (any other value: 403 `invalid_signature`)."),
    ),
    responses(
        (status = 200, description = "The bytes, with the `Content-Type` they were uploaded with.",
            content_type = "*/*", body = inline(Binary)),
        (status = 400, response = BadRequest),
        (status = 403, response = SignedUrlRefused),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn download_signed(
    State(deps): State<FilesDeps>,
    path: PathParams,
    query: QueryParams,
) -> Result<Response, Problem> {
    let key: String = path.parse("key")?;
    let expires = query.text("expires")?.unwrap_or("");
    let signature = query.text("signature")?.unwrap_or("");
    let key = deps
        .verifier
        .verify(&key, SignedAccess::Get, expires, signature, Utc::now())
        .map_err(|err| errors::signed(&err))?;
    let download = deps.files.open_signed(&key).await.map_err(errors::files)?;
    Ok(streamed(download))
}
