//! The OpenAPI 3.1 document of every route (`GET /openapi.json`) and an
//! offline docs page for it (`GET /docs`).
//!
//! Each module documents its handlers with `#[utoipa::path]` and builds its
//! paths from its route table (`crate::module`); [`openapi`] merges those
//! with the operational routes and applies the shared conventions. A route
//! served without documentation fails the crate's route-coverage test.

pub(crate) mod components;
pub(crate) mod conventions;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use utoipa::{Modify, OpenApi};

use crate::problem::{Problem, Wire};

/// The page served at `/docs`: inline CSS and script only, so it works offline.
const DOCS_PAGE: &str = include_str!("docs.html");

/// The page may run its own inline code and call this origin, nothing else:
/// the browser itself refuses any external script, style or request.
const DOCS_POLICY: HeaderValue = HeaderValue::from_static(
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "platform",
        description = "The platform's HTTP API. Errors are `application/problem+json` (RFC 9457) with a \
            stable `code`; lists are `{\"items\": [...], \"next_cursor\": ...}` with `limit` and `cursor`; \
            every response carries `x-request-id`.",
    ),
    paths(spec, docs),
    components(
        schemas(Wire<'_>),
        responses(
            components::BadRequest,
            components::Unauthorized,
            components::Forbidden,
            components::NotFound,
            components::Conflict,
            components::Unprocessable,
            components::PayloadTooLarge,
            components::UnsupportedMediaType,
            components::SignedUrlRefused,
            components::TooManyRequests,
            components::InternalError,
            components::ServiceUnavailable,
        )
    ),
    tags(
        (name = "operational", description = "Probes, metrics, keys and this documentation."),
        (name = "auth", description = "Registration, email verification, sessions and passwords."),
        (name = "users", description = "The caller's profile and user administration."),
        (name = "roles", description = "Roles, their permissions and assignments."),
        (name = "api-keys", description = "API keys for server-to-server calls (`Authorization: Bearer plt_…` or `X-API-Key`)."),
        (name = "audit", description = "The tenant's audit trail."),
        (name = "files", description = "Uploads over the blob store, their metadata, downloads and signed URLs."),
        (name = "blog", description = "Blog posts and their publishing workflow (draft → published → archived → draft)."),
        (name = "webhooks", description = "Signed deliveries of the tenant's events (Standard Webhooks), with retries and a delivery log."),
        (name = "jobs", description = "The job queue: queues, their tasks by state, a task's status by id, and operator actions."),
    )
)]
struct RootApi;

/// The OpenAPI 3.1 document of what `build_router` serves: the operational
/// routes and `modules` (the merged `ModuleRoutes::openapi` of the mounted
/// feature modules).
#[must_use]
pub fn openapi(modules: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = RootApi::openapi();
    doc.merge(crate::ops::OpsApi::openapi());
    doc.merge(modules);
    conventions::Conventions.modify(&mut doc);
    doc
}

/// `GET /openapi.json` serving `doc` (serialized once here: it cannot change
/// while the process runs) and `GET /docs`.
pub(crate) fn router(doc: &utoipa::openapi::OpenApi) -> Router {
    let serialized: Spec = doc.to_json().map(Bytes::from).map_err(|err| SpecError(err.to_string()));
    Router::new()
        .route("/openapi.json", get(spec))
        .route("/docs", get(docs))
        .with_state(Arc::new(serialized))
}

/// The serialized document, or why it could not be serialized.
type Spec = Result<Bytes, SpecError>;

/// The document could not be serialized.
#[derive(Clone, Debug, thiserror::Error)]
#[error("could not serialize the OpenAPI document: {0}")]
struct SpecError(String);

/// The OpenAPI document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operational",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", body = Object, content_type = "application/json"),
        (status = 500, response = components::InternalError),
    )
)]
async fn spec(State(spec): State<Arc<Spec>>) -> Response {
    match spec.as_ref() {
        Ok(body) => (
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            body.clone(),
        )
            .into_response(),
        Err(err) => Problem::internal().with_cause(err.clone()).into_response(),
    }
}

/// The API documentation page.
///
/// A self-contained page (no external script, style or font) that reads
/// `/openapi.json` and can send requests with an optional bearer token.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "operational",
    responses((status = 200, description = "The documentation page.", body = String, content_type = "text/html"))
)]
async fn docs() -> Response {
    ([(CONTENT_SECURITY_POLICY, DOCS_POLICY)], Html(DOCS_PAGE)).into_response()
}
