//! The Blog feature module over real HTTP: workflow, author rules, drafts,
//! the manage permission, audit trail, tenancy; and the OpenAPI document.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use platform_tests::{TestApp, assert_problem, expect, expect_json};
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse-battery";
const AUTHOR: &[&str] = &[
    "blog.post.create",
    "blog.post.read",
    "blog.post.update",
    "blog.post.delete",
    "blog.post.publish",
];

/// A user holding `permissions` through a fresh role; returns their access token.
async fn member(app: &TestApp, admin: &str, email: &str, role: &str, permissions: &[&str]) -> String {
    let user = app.register(email, PASSWORD).await.unwrap();
    let role = expect_json(
        app.post_as(admin, "roles", &json!({"name": role, "permissions": permissions}))
            .await
            .unwrap(),
        201,
    )
    .await
    .unwrap();
    let resp = app
        .post_as(
            admin,
            &format!("users/{}/roles", user["id"].as_str().unwrap()),
            &json!({"role_id": role["id"]}),
        )
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();
    app.login(email, PASSWORD).await.unwrap().access_token
}

async fn create(app: &TestApp, token: &str, title: &str) -> Value {
    let resp = app
        .post_as(
            token,
            "blog/posts",
            &json!({"title": title, "content": "Hello", "tags": ["Rust", "rust", "db"]}),
        )
        .await
        .unwrap();
    assert!(resp.headers().get("location").is_some());
    expect_json(resp, 201).await.unwrap()
}

#[tokio::test]
async fn a_post_goes_through_its_workflow() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ada = member(&app, &admin, "ada@example.com", "authors", AUTHOR).await;

    let post = create(&app, &ada, "  First post ").await;
    assert_eq!(post["title"], "First post");
    assert_eq!(post["status"], "draft");
    assert_eq!(post["tags"], json!(["rust", "db"]));
    assert!(post["published_at"].is_null());
    let id = post["id"].as_str().unwrap();

    let updated = expect_json(
        app.put_as(
            &ada,
            &format!("blog/posts/{id}"),
            &json!({"title": "First post, edited", "content": "Hi", "tags": []}),
        )
        .await
        .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(updated["title"], "First post, edited");

    let published = expect_json(
        app.post_as(&ada, &format!("blog/posts/{id}/publish"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());

    // Invalid transitions are 409 problems.
    let again = app
        .post_as(&ada, &format!("blog/posts/{id}/publish"), &json!({}))
        .await
        .unwrap();
    assert_problem(again, 409, "invalid_transition").await.unwrap();
    let restore = app
        .post_as(&ada, &format!("blog/posts/{id}/restore"), &json!({}))
        .await
        .unwrap();
    assert_problem(restore, 409, "invalid_transition").await.unwrap();

    let archived = expect_json(
        app.post_as(&ada, &format!("blog/posts/{id}/archive"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(archived["status"], "archived");
    let restored = expect_json(
        app.post_as(&ada, &format!("blog/posts/{id}/restore"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(restored["status"], "draft");

    expect(app.delete_as(&ada, &format!("blog/posts/{id}")).await.unwrap(), 204)
        .await
        .unwrap();
    let gone = app.get_as(&ada, &format!("blog/posts/{id}")).await.unwrap();
    assert_problem(gone, 404, "not_found").await.unwrap();

    // Every change is in the audit trail.
    let audit = expect_json(app.get_as(&admin, "audit?limit=200").await.unwrap(), 200)
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "blog.post.created",
        "blog.post.updated",
        "blog.post.published",
        "blog.post.archived",
        "blog.post.restored",
        "blog.post.deleted",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[tokio::test]
async fn authors_rule_their_own_posts_and_managers_everyone_s() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ada = member(&app, &admin, "ada@example.com", "authors", AUTHOR).await;
    let bob = member(&app, &admin, "bob@example.com", "authors-too", AUTHOR).await;
    let mut managing = AUTHOR.to_vec();
    managing.push("blog.post.manage");
    let eve = member(&app, &admin, "eve@example.com", "editors", &managing).await;

    let draft = create(&app, &ada, "Ada's draft").await;
    let draft_id = draft["id"].as_str().unwrap();
    let live = create(&app, &ada, "Ada's post").await;
    let live_id = live["id"].as_str().unwrap();
    expect(
        app.post_as(&ada, &format!("blog/posts/{live_id}/publish"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();

    // Bob sees the published post, not the draft (404: existence is not revealed).
    expect(app.get_as(&bob, &format!("blog/posts/{live_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_problem(
        app.get_as(&bob, &format!("blog/posts/{draft_id}")).await.unwrap(),
        404,
        "not_found",
    )
    .await
    .unwrap();
    let listed = expect_json(app.get_as(&bob, "blog/posts").await.unwrap(), 200)
        .await
        .unwrap();
    let titles: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Ada's post"]);

    // Bob may not change Ada's post.
    let edit = app
        .put_as(
            &bob,
            &format!("blog/posts/{live_id}"),
            &json!({"title": "Bob was here", "content": ""}),
        )
        .await
        .unwrap();
    assert_problem(edit, 403, "forbidden").await.unwrap();
    assert_problem(
        app.delete_as(&bob, &format!("blog/posts/{live_id}")).await.unwrap(),
        403,
        "forbidden",
    )
    .await
    .unwrap();

    // Eve (blog.post.manage) sees the draft and may act on it.
    expect(app.get_as(&eve, &format!("blog/posts/{draft_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    let all = expect_json(app.get_as(&eve, "blog/posts?status=draft").await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    expect(
        app.post_as(&eve, &format!("blog/posts/{draft_id}/publish"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();

    // Filters: author and tag, with cursor pagination.
    let by_ada = expect_json(
        app.get_as(
            &bob,
            &format!(
                "blog/posts?author={}&tag=rust&limit=1",
                live["author_id"].as_str().unwrap()
            ),
        )
        .await
        .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(by_ada["items"].as_array().unwrap().len(), 1);
    let cursor = by_ada["next_cursor"].as_str().unwrap();
    let page2 = expect_json(
        app.get_as(
            &bob,
            &format!(
                "blog/posts?author={}&tag=rust&limit=1&cursor={cursor}",
                live["author_id"].as_str().unwrap()
            ),
        )
        .await
        .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    assert_ne!(page2["items"][0]["id"], by_ada["items"][0]["id"]);
}

#[tokio::test]
async fn bad_input_and_missing_permissions_are_problems() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let reader = member(&app, &admin, "reader@example.com", "readers", &["blog.post.read"]).await;
    let ada = member(&app, &admin, "ada@example.com", "authors", AUTHOR).await;

    assert_problem(
        app.post_as(&reader, "blog/posts", &json!({"title": "x", "content": ""}))
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await
    .unwrap();
    let resp = app.client.get(app.api_url("blog/posts")).send().await.unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
    let blank = app
        .post_as(&ada, "blog/posts", &json!({"title": "   ", "content": ""}))
        .await
        .unwrap();
    let problem = assert_problem(blank, 422, "validation_failed").await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "title");
    let long = app
        .post_as(&ada, "blog/posts", &json!({"title": "x".repeat(201), "content": ""}))
        .await
        .unwrap();
    assert_problem(long, 422, "validation_failed").await.unwrap();
    let status = app.get_as(&ada, "blog/posts?status=lost").await.unwrap();
    assert_problem(status, 400, "invalid_parameter").await.unwrap();
}

#[tokio::test]
async fn the_api_is_documented_and_the_docs_work_offline() {
    let app = TestApp::spawn().await.unwrap();
    let doc: Value = expect_json(app.get("/openapi.json").await.unwrap(), 200).await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/blog/posts",
        "/api/v1/blog/posts/{id}/publish",
        "/api/v1/auth/login",
        "/api/v1/audit",
        "/healthz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} undocumented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer_auth"].is_object());
    let docs = app.get("/docs").await.unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("openapi.json"));
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "the docs page must not load anything remote"
    );
}

/// The example subscriber: each publication reaches the author's count
/// through the outbox, the relay and the configured bus (Kafka on the
/// production profile), once per event.
#[tokio::test]
async fn publishing_counts_for_the_author_through_the_bus() {
    use std::sync::Arc;
    use std::time::Duration;

    use platform_contract::redis_server::eventually;
    use platform_ports::blog::AuthorStats;
    use platform_ports::model::{TenantId, UserId};
    use shaku::HasComponent;

    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let ada = member(&app, &admin, "ada@example.com", "authors", AUTHOR).await;
    let author: UserId = serde_json::from_value(app.me(&ada).await.unwrap()["id"].clone()).unwrap();
    for title in ["One", "Two"] {
        let post = create(&app, &ada, title).await;
        let id = post["id"].as_str().unwrap();
        expect_json(
            app.post_as(&ada, &format!("blog/posts/{id}/publish"), &json!({}))
                .await
                .unwrap(),
            200,
        )
        .await
        .unwrap();
    }
    let stats: Arc<dyn AuthorStats> = app.module.resolve();
    eventually(Duration::from_secs(30), async || {
        stats.published(TenantId::DEFAULT, author).await.unwrap() == 2
    })
    .await;
    // Nothing more arrives later (each event counted once).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stats.published(TenantId::DEFAULT, author).await.unwrap(), 2);
    app.stop().await.unwrap();
}
