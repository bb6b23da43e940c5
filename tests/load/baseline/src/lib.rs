//! The load benchmark's baseline: a bare axum router answering
//! `GET /api/v1/blog/posts/{id}` with a fixed body shaped and sized like the
//! platform's Post JSON, so the benchmark can price everything the platform
//! adds on top of axum (auth, authorization, repositories, logging, metrics).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use uuid::Uuid;

/// Title of the fixed post; the benchmark creates the platform's post with the same one.
pub const TITLE: &str = "Measuring what a request costs";
/// Body of the fixed post (plain ASCII, nothing to escape, so both servers send the same bytes).
pub const CONTENT: &str = "A backend kernel earns its keep only if the work it adds to every \
request stays small next to the work the request itself does. This post is the fixture of the \
load benchmark: the platform serves it through authentication, authorization, the repository \
and the access log, while a bare axum server serves the same bytes from memory. The difference \
between the two is the price of the platform, in requests per second, in latency and in CPU \
time per request.";
/// Tags of the fixed post.
pub const TAGS: [&str; 3] = ["rust", "benchmark", "platform"];

/// The fixed post, minus its id, which comes from the path as on the platform.
#[derive(Debug)]
struct Fixture {
    tenant_id: Uuid,
    author_id: Uuid,
    created_at: &'static str,
    updated_at: &'static str,
    published_at: &'static str,
}

/// The wire shape of the platform's `Post` (same field order and types).
#[derive(Serialize)]
struct PostView<'a> {
    id: Uuid,
    tenant_id: Uuid,
    author_id: Uuid,
    title: &'a str,
    content: &'a str,
    status: &'a str,
    tags: &'a [&'a str],
    created_at: &'a str,
    updated_at: &'a str,
    published_at: &'a str,
}

/// The baseline router: the one route, nothing else (no middleware by design).
pub fn router() -> Router {
    let fixture = Arc::new(Fixture {
        tenant_id: Uuid::nil(),
        author_id: Uuid::from_u128(0x0196_0a1b_2c3d_7e4f_8a9b_0c1d_2e3f_4a5b),
        // Microsecond precision, as PostgreSQL stores and the platform sends.
        created_at: "2025-01-01T12:00:00.123456Z",
        updated_at: "2025-01-01T12:00:01.654321Z",
        published_at: "2025-01-01T12:00:01.654321Z",
    });
    Router::new()
        .route("/api/v1/blog/posts/{id}", get(get_post))
        .with_state(fixture)
}

/// Parses the id like the platform does (a malformed id is not a post), then
/// serializes the fixed post per request, as any JSON handler would.
async fn get_post(State(fixture): State<Arc<Fixture>>, Path(id): Path<String>) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    axum::Json(PostView {
        id,
        tenant_id: fixture.tenant_id,
        author_id: fixture.author_id,
        title: TITLE,
        content: CONTENT,
        status: "published",
        tags: &TAGS,
        created_at: fixture.created_at,
        updated_at: fixture.updated_at,
        published_at: fixture.published_at,
    })
    .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get(uri: &str) -> (StatusCode, Vec<u8>) {
        let response = router()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body.to_vec())
    }

    #[tokio::test]
    async fn answers_a_post_shaped_body_with_the_requested_id() {
        let id = "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        let (status, body) = get(&format!("/api/v1/blog/posts/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec![
            "id",
            "tenant_id",
            "author_id",
            "title",
            "content",
            "status",
            "tags",
            "created_at",
            "updated_at",
            "published_at",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["id"], id);
        assert_eq!(json["status"], "published");
        assert_eq!(json["title"], TITLE);
        assert_eq!(json["tags"], serde_json::json!(TAGS));
    }

    #[tokio::test]
    async fn a_malformed_id_or_another_route_is_not_found() {
        assert_eq!(get("/api/v1/blog/posts/nope").await.0, StatusCode::NOT_FOUND);
        assert_eq!(get("/api/v1/blog/posts").await.0, StatusCode::NOT_FOUND);
    }
}
