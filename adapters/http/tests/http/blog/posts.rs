//! Creating, reading, listing, replacing and deleting posts.

use platform_ports::blog::BlogError;
use platform_ports::blog::{PostFilter, PostStatus};
use platform_ports::model::{FieldError, Page, PageRequest, PostId};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{Blog, CREATE, DELETE, OTHER_AUTHOR, POST, READ, UPDATE, post};
use crate::security::{TOKEN_TENANT, TOKEN_USER, authed, is_token_ctx};
use crate::support::problem;

const POSTS: &str = "/api/v1/blog/posts";

fn one(id: PostId) -> String {
    format!("{POSTS}/{id}")
}

#[tokio::test]
async fn create_is_201_with_location_and_the_post_shape() {
    let mut blog = Blog::new().grant(CREATE);
    blog.blog
        .expect_create()
        .withf(|ctx, input| {
            is_token_ctx(ctx)
                && input.title == "Hexagons"
                && input.content == "All the way down."
                && input.tags == ["rust"]
        })
        .times(1)
        .returning(|_, _| Ok(post(POST, PostStatus::Draft)));
    let app = blog.start().await;
    let response = authed(&app, Method::POST, POSTS)
        .json(&json!({"title": "Hexagons", "content": "All the way down.", "tags": ["rust"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], one(POST));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": POST.to_string(),
            "tenant_id": TOKEN_TENANT.to_string(),
            "author_id": TOKEN_USER.to_string(),
            "title": "Hexagons",
            "content": "All the way down.",
            "status": "draft",
            "tags": ["rust", "design"],
            "created_at": "2026-03-04T05:06:07.000000Z",
            "updated_at": "2026-03-04T05:06:07.000000Z",
            "published_at": null,
        })
    );
}

#[tokio::test]
async fn tags_are_optional_but_a_title_is_required() {
    let mut blog = Blog::new().grant(CREATE).grant(CREATE);
    blog.blog
        .expect_create()
        .withf(|_, input| input.tags.is_empty())
        .times(1)
        .returning(|_, _| Ok(post(POST, PostStatus::Draft)));
    let app = blog.start().await;
    let response = authed(&app, Method::POST, POSTS)
        .json(&json!({"title": "t", "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // Refused by the body extractor: the service is never called.
    let response = authed(&app, Method::POST, POSTS)
        .json(&json!({"content": "c"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "title");
    assert_eq!(body["errors"][0]["code"], "required");
}

#[tokio::test]
async fn the_services_validation_errors_are_422_naming_the_field() {
    let mut blog = Blog::new().grant(CREATE);
    blog.blog.expect_create().times(1).returning(|_, _| {
        Err(BlogError::Validation(
            FieldError::new("title", "too_long", "must be at most 200 characters").into(),
        ))
    });
    let app = blog.start().await;
    let response = authed(&app, Method::POST, POSTS)
        .json(&json!({"title": "x".repeat(500), "content": "c"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "too_long");
}

#[tokio::test]
async fn without_a_token_or_the_permission_nothing_is_created() {
    let app = Blog::new().deny(CREATE).start().await;
    let body = json!({"title": "t", "content": "c"});
    let response = app.client.post(app.url(POSTS)).json(&body).send().await.unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401, "unauthorized").await;
    let response = authed(&app, Method::POST, POSTS).json(&body).send().await.unwrap();
    let body = problem(response, 403, "forbidden").await;
    assert!(body["detail"].as_str().unwrap().contains("blog.post.create"));
}

#[tokio::test]
async fn list_passes_filters_and_paging_and_answers_the_envelope() {
    let mut blog = Blog::new().grant(READ);
    blog.blog
        .expect_list()
        .withf(|ctx, filter, page| {
            is_token_ctx(ctx)
                && *filter
                    == PostFilter {
                        status: Some(PostStatus::Published),
                        author_id: Some(OTHER_AUTHOR),
                        tag: Some("rust".to_owned()),
                        include_all_drafts: false,
                        viewer_id: Some(TOKEN_USER),
                    }
                && *page
                    == PageRequest {
                        limit: 10,
                        cursor: Some("abc".to_owned()),
                    }
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![post(POST, PostStatus::Published)],
                next_cursor: Some("next".to_owned()),
            })
        });
    let app = blog.start().await;
    let path = format!("{POSTS}?status=published&author={OTHER_AUTHOR}&tag=rust&limit=10&cursor=abc");
    let response = authed(&app, Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["next_cursor"], "next");
    assert_eq!(body["items"][0]["id"], POST.to_string());
    assert_eq!(body["items"][0]["status"], "published");
    assert_eq!(body["items"][0]["published_at"], "2026-03-04T05:06:07.000000Z");
}

#[tokio::test]
async fn blank_filters_are_400_naming_the_parameter() {
    // One rule on every list: a parameter is absent or has a value; an empty
    // one would otherwise silently filter nothing.
    let mut blog = Blog::new();
    blog.authorizer.expect_authorize().returning(|_, _| Ok(()));
    blog.blog.expect_list().never();
    let app = blog.start().await;
    for (query, field) in [
        ("status=&tag=rust", "status"),
        ("tag=", "tag"),
        ("author=", "author"),
        ("cursor=", "cursor"),
    ] {
        let response = authed(&app, Method::GET, &format!("{POSTS}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_parameter", "{query}");
        assert_eq!(body["errors"][0]["field"], field, "{query}");
        assert_eq!(body["errors"][0]["code"], "empty", "{query}");
    }
}

#[tokio::test]
async fn bad_filters_are_400_naming_the_parameter() {
    let mut blog = Blog::new();
    blog.authorizer.expect_authorize().returning(|_, _| Ok(()));
    blog.blog.expect_list().never();
    let app = blog.start().await;
    for (query, field) in [
        ("status=deleted", "status"),
        ("author=not-a-uuid", "author"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("tag=a&tag=b", "tag"),
    ] {
        let response = authed(&app, Method::GET, &format!("{POSTS}?{query}"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn get_answers_the_post_or_404() {
    let missing = PostId(Uuid::from_u128(0xdead));
    let mut blog = Blog::new().grant(READ).grant(READ);
    blog.blog
        .expect_get()
        .withf(|ctx, id| is_token_ctx(ctx) && *id == POST)
        .times(1)
        .returning(|_, id| Ok(post(id, PostStatus::Draft)));
    blog.blog
        .expect_attachments()
        .withf(|_, id| *id == POST)
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    blog.blog
        .expect_get()
        .withf(move |_, id| *id == missing)
        .times(1)
        .returning(|_, _| Err(BlogError::NotFound));
    let app = blog.start().await;
    let response = authed(&app, Method::GET, &one(POST)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["title"], "Hexagons");
    assert_eq!(
        (&body["cover"], &body["attachments"]),
        (&serde_json::Value::Null, &serde_json::json!([]))
    );
    problem(
        authed(&app, Method::GET, &one(missing)).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_malformed_id_is_400_before_the_service() {
    let mut blog = Blog::new().grant(READ);
    blog.blog.expect_get().never();
    let app = blog.start().await;
    let response = authed(&app, Method::GET, &format!("{POSTS}/42")).send().await.unwrap();
    let body = problem(response, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "id");
}

#[tokio::test]
async fn put_replaces_title_content_and_tags() {
    let mut blog = Blog::new().grant(UPDATE);
    blog.blog
        .expect_update()
        .withf(|ctx, id, input| {
            is_token_ctx(ctx) && *id == POST && input.title == "New" && input.content == "Body" && input.tags.is_empty()
        })
        .times(1)
        .returning(|_, id, input| {
            let mut updated = post(id, PostStatus::Draft);
            updated.title = input.title;
            Ok(updated)
        });
    let app = blog.start().await;
    let response = authed(&app, Method::PUT, &one(POST))
        .json(&json!({"title": "New", "content": "Body"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["title"], "New");
}

#[tokio::test]
async fn someone_elses_post_is_403_from_the_service() {
    let mut blog = Blog::new().grant(UPDATE);
    blog.blog
        .expect_update()
        .times(1)
        .returning(|_, _, _| Err(BlogError::Forbidden));
    let app = blog.start().await;
    let response = authed(&app, Method::PUT, &one(POST))
        .json(&json!({"title": "New", "content": "Body"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 403, "forbidden").await;
    assert!(body["detail"].as_str().unwrap().contains("blog.post.manage"), "{body}");
}

#[tokio::test]
async fn delete_is_204_and_needs_its_own_permission() {
    let mut blog = Blog::new().grant(DELETE);
    blog.blog
        .expect_delete()
        .withf(|ctx, id| is_token_ctx(ctx) && *id == POST)
        .times(1)
        .returning(|_, _| Ok(()));
    let app = blog.start().await;
    let response = authed(&app, Method::DELETE, &one(POST)).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");
}
