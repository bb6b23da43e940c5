//! Publish, archive and restore; invalid transitions; failures.

use platform_ports::blog::BlogError;
use platform_ports::blog::PostStatus;
use reqwest::Method;

use super::{Blog, POST, PUBLISH, READ, post};
use crate::security::{authed, is_token_ctx};
use crate::support::problem;

#[tokio::test]
async fn each_action_moves_the_post_to_its_status() {
    for (action, to) in [
        ("publish", PostStatus::Published),
        ("archive", PostStatus::Archived),
        ("restore", PostStatus::Draft),
    ] {
        let mut blog = Blog::new().grant(PUBLISH);
        blog.blog
            .expect_transition()
            .withf(move |ctx, id, status| is_token_ctx(ctx) && *id == POST && *status == to)
            .times(1)
            .returning(|_, id, status| Ok(post(id, status)));
        let app = blog.start().await;
        let response = authed(&app, Method::POST, &format!("/api/v1/blog/posts/{POST}/{action}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{action}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], to.as_str(), "{action}");
    }
}

#[tokio::test]
async fn an_invalid_transition_is_409_naming_both_statuses() {
    let mut blog = Blog::new().grant(PUBLISH);
    blog.blog.expect_transition().times(1).returning(|_, _, _| {
        Err(BlogError::InvalidTransition {
            from: PostStatus::Draft,
            to: PostStatus::Archived,
        })
    });
    let app = blog.start().await;
    let response = authed(&app, Method::POST, &format!("/api/v1/blog/posts/{POST}/archive"))
        .send()
        .await
        .unwrap();
    let body = problem(response, 409, "invalid_transition").await;
    assert_eq!(body["detail"], "cannot go from draft to archived");
}

#[tokio::test]
async fn an_action_without_the_publish_permission_is_403() {
    let mut blog = Blog::new().deny(PUBLISH);
    blog.blog.expect_transition().never();
    let app = blog.start().await;
    for action in ["publish", "archive", "restore"] {
        let response = authed(&app, Method::POST, &format!("/api/v1/blog/posts/{POST}/{action}"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 403, "forbidden").await;
        assert!(body["detail"].as_str().unwrap().contains("blog.post.publish"));
    }
}

#[tokio::test]
async fn the_service_saying_unauthenticated_is_401() {
    let mut blog = Blog::new().grant(READ);
    blog.blog
        .expect_get()
        .times(1)
        .returning(|_, _| Err(BlogError::Unauthenticated));
    let app = blog.start().await;
    let response = authed(&app, Method::GET, &format!("/api/v1/blog/posts/{POST}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_backend_failure_is_503_with_nothing_internal_and_the_cause_published() {
    let mut blog = Blog::new().grant(READ);
    blog.blog
        .expect_get()
        .times(1)
        .returning(|_, _| Err(BlogError::Backend("connection refused to 10.0.0.5".into())));
    let app = blog.start().await;
    let response = authed(&app, Method::GET, &format!("/api/v1/blog/posts/{POST}"))
        .send()
        .await
        .unwrap();
    let id = crate::support::request_id(&response);
    let body = problem(response, 503, "service_unavailable").await;
    assert!(!body.to_string().contains("10.0.0.5"), "{body}");
    let published = app.published();
    let (request_id, report) = published.iter().find(|(rid, _)| *rid == id).unwrap();
    assert_eq!(request_id, &id);
    assert!(
        report.chain.iter().any(|cause| cause.contains("10.0.0.5")),
        "{report:?}"
    );
}
