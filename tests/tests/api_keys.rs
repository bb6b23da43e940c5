//! API keys, black-box: scopes bound what a key does, revocation is
//! immediate on every instance, tenants stay apart, the creator's lost
//! permissions are the key's too, and failing keys are rate limited.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use platform_bootstrap::config::{CacheDriver, DatabaseDriver};
use platform_ports::identity::UserService;
use platform_ports::model::{RequestContext, SecretString, TenantId};
use platform_tests::{TestApp, assert_problem, expect, expect_json, field_errors};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use shaku::HasComponent;

const PASSWORD: &str = "correct-horse-battery";
const TENANT_B: &str = "7c0e8a52-4d1b-4f3e-9a6c-1b2d3e4f5a6b";

/// Creates a key as the holder of `token`; the whole 201 body.
async fn create_key(app: &TestApp, token: &str, name: &str, scopes: &[&str]) -> Value {
    let resp = app
        .post_as(token, "api-keys", &json!({ "name": name, "scopes": scopes }))
        .await
        .unwrap();
    expect_json(resp, 201).await.unwrap()
}

fn secret(created: &Value) -> String {
    created["key"].as_str().unwrap().to_owned()
}

/// A request to an API path carrying `key` in `X-API-Key`.
async fn with_header(app: &TestApp, method: Method, path: &str, key: &str) -> Response {
    app.request(method, path).header("x-api-key", key).send().await.unwrap()
}

async fn create_post(app: &TestApp, token: &str) -> Response {
    app.post_as(token, "blog/posts", &json!({"title": "From a key", "content": "Hello"}))
        .await
        .unwrap()
}

/// Registers `email`, gives them a role with `permissions` (as the admin)
/// and logs in: (user id, role id, access token).
async fn user_with(app: &TestApp, admin: &str, email: &str, permissions: &[&str]) -> (String, String, String) {
    let user = app.register(email, PASSWORD).await.unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();
    let role = expect_json(
        app.post_as(
            admin,
            "roles",
            &json!({ "name": email.replace('@', "-at-"), "permissions": permissions }),
        )
        .await
        .unwrap(),
        201,
    )
    .await
    .unwrap();
    let role_id = role["id"].as_str().unwrap().to_owned();
    let resp = app
        .post_as(admin, &format!("users/{user_id}/roles"), &json!({ "role_id": role_id }))
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();
    let token = app.login(email, PASSWORD).await.unwrap().access_token;
    (user_id, role_id, token)
}

#[tokio::test]
async fn a_read_scoped_key_reads_and_cannot_create() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let created = create_key(&app, &admin, "reader", &["blog.post.read"]).await;
    let key = secret(&created);
    assert!(key.starts_with("plt_"), "{key}");
    assert_eq!(created["prefix"].as_str().unwrap(), &key[..12]);
    assert_eq!(created["scopes"], json!(["blog.post.read"]));

    // Both header forms authenticate; the scope reads.
    assert_eq!(app.get_as(&key, "blog/posts").await.unwrap().status(), 200);
    assert_eq!(with_header(&app, Method::GET, "blog/posts", &key).await.status(), 200);
    // …and nothing more, although its creator (the admin) may do everything.
    assert_problem(create_post(&app, &key).await, 403, "forbidden")
        .await
        .unwrap();
    assert_problem(app.get_as(&key, "users").await.unwrap(), 403, "forbidden")
        .await
        .unwrap();
    // Routes acting on the user's own account refuse keys.
    assert_problem(app.get_as(&key, "users/me").await.unwrap(), 403, "api_key_not_allowed")
        .await
        .unwrap();
    // A key cannot mint keys, even one scoped to manage them.
    let manager = secret(&create_key(&app, &admin, "manager", &["identity.apikey.manage"]).await);
    let resp = app
        .post_as(
            &manager,
            "api-keys",
            &json!({"name": "child", "scopes": ["identity.apikey.manage"]}),
        )
        .await
        .unwrap();
    assert_problem(resp, 403, "api_key_not_allowed").await.unwrap();

    // Listed and read without the secret; the use was recorded.
    let id = created["id"].as_str().unwrap();
    let listed = expect_json(app.get_as(&admin, "api-keys").await.unwrap(), 200)
        .await
        .unwrap();
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap()
        .clone();
    assert!(item.get("key").is_none() && item.get("key_hash").is_none(), "{item}");
    assert!(
        !listed.to_string().contains(&key[12..]),
        "the secret leaked into the list"
    );
    assert!(item["last_used_at"].is_string(), "{item}");
    assert_eq!(item["created_by"], app.me(&admin).await.unwrap()["id"]);
    let one = expect_json(app.get_as(&admin, &format!("api-keys/{id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(one["name"], "reader");

    // The audit trail names the key as the actor of what it did.
    let resp = app
        .post_as(&manager, &format!("api-keys/{id}/revoke"), &json!({}))
        .await
        .unwrap();
    expect_json(resp, 200).await.unwrap();
    let audit = expect_json(app.get_as(&admin, "audit?action=apikey.revoked").await.unwrap(), 200)
        .await
        .unwrap();
    let entry = &audit["items"][0];
    assert_eq!(entry["metadata"]["actor_kind"], "api_key", "{entry}");
    assert_eq!(
        entry["metadata"]["api_key_id"],
        created_id(&app, &admin, "manager").await
    );

    // Garbage keys are 401, never 500.
    for bad in ["plt_", "plt_short", "plt_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"] {
        assert_problem(app.get_as(bad, "blog/posts").await.unwrap(), 401, "unauthorized")
            .await
            .unwrap();
    }
    assert_problem(
        with_header(&app, Method::GET, "blog/posts", "nope").await,
        401,
        "unauthorized",
    )
    .await
    .unwrap();
}

/// The id of the tenant's key named `name`.
async fn created_id(app: &TestApp, admin: &str, name: &str) -> Value {
    let listed = expect_json(app.get_as(admin, "api-keys").await.unwrap(), 200)
        .await
        .unwrap();
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap()["id"]
        .clone()
}

#[tokio::test]
async fn scopes_must_be_held_by_the_creator() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (_, _, token) = user_with(
        &app,
        &admin,
        "keymaker@example.com",
        &["identity.apikey.manage", "blog.post.read"],
    )
    .await;
    let resp = app
        .post_as(
            &token,
            "api-keys",
            &json!({"name": "too much", "scopes": ["blog.post.read", "blog.post.create"]}),
        )
        .await
        .unwrap();
    let problem = assert_problem(resp, 403, "scope_not_held").await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("blog.post.create"),
        "{problem}"
    );

    let resp = app
        .post_as(&token, "api-keys", &json!({"name": " ", "scopes": []}))
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
    let resp = app
        .post_as(
            &token,
            "api-keys",
            &json!({"name": "old", "scopes": ["blog.post.read"], "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
    let resp = app
        .post_as(
            &token,
            "api-keys",
            &json!({"name": "bad", "scopes": ["Not A Permission"]}),
        )
        .await
        .unwrap();
    assert_problem(resp, 422, "validation_failed").await.unwrap();
    create_key(&app, &token, "fine", &["blog.post.read"]).await;
    // Without the manage permission, no keys at all.
    let (_, _, plain) = user_with(&app, &admin, "plain@example.com", &["blog.post.read"]).await;
    assert_problem(app.get_as(&plain, "api-keys").await.unwrap(), 403, "forbidden")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_on_every_instance() {
    let a = TestApp::spawn().await.unwrap();
    let s = &a.settings;
    // Two instances need a shared database and cache; on memory one instance
    // shows the same thing (its own cache entry is dropped at once).
    let shared = s.database.driver == DatabaseDriver::Postgres && s.cache.driver == CacheDriver::Redis;
    let b = if shared {
        Some(TestApp::spawn_sharing(&a).await.unwrap())
    } else {
        None
    };
    let other = b.as_ref().unwrap_or(&a);
    let admin = a.admin_token().await.unwrap();
    let created = create_key(&a, &admin, "short-lived", &["blog.post.read"]).await;
    let key = secret(&created);
    // Both instances have used (and cached) the key.
    assert_eq!(a.get_as(&key, "blog/posts").await.unwrap().status(), 200);
    assert_eq!(other.get_as(&key, "blog/posts").await.unwrap().status(), 200);

    let id = created["id"].as_str().unwrap();
    let revoked = expect_json(
        a.post_as(&admin, &format!("api-keys/{id}/revoke"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // The very next request, on either instance.
    for app in [&a, other] {
        assert_problem(app.get_as(&key, "blog/posts").await.unwrap(), 401, "unauthorized")
            .await
            .unwrap();
        assert_problem(
            with_header(app, Method::GET, "blog/posts", &key).await,
            401,
            "unauthorized",
        )
        .await
        .unwrap();
    }
    // Revoking twice keeps the first time; unknown ids are 404.
    let again = expect_json(
        a.post_as(&admin, &format!("api-keys/{id}/revoke"), &json!({}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    let unknown = a
        .post_as(
            &admin,
            "api-keys/0190f7a8-1b2c-7d3e-8f40-5a6b7c8d9e0f/revoke",
            &json!({}),
        )
        .await
        .unwrap();
    assert_problem(unknown, 404, "not_found").await.unwrap();
}

#[tokio::test]
async fn a_key_of_one_tenant_sees_nothing_of_another() {
    let app = TestApp::spawn().await.unwrap();
    let admin_a = app.admin_token().await.unwrap();
    // Tenant A: a post and a key.
    let post = expect_json(create_post(&app, &admin_a).await, 201).await.unwrap();
    let post_id = post["id"].as_str().unwrap();
    let key_a = create_key(&app, &admin_a, "a-key", &["blog.post.read", "identity.user.read"]).await;

    // Tenant B's administrator and key.
    let users: std::sync::Arc<dyn UserService> = app.module.resolve();
    let ctx = RequestContext {
        tenant_id: TENANT_B.parse::<uuid::Uuid>().map(TenantId).unwrap(),
        ..RequestContext::system("test")
    };
    users
        .ensure_admin(&ctx, "boss@b.example.com", &SecretString::new(PASSWORD))
        .await
        .unwrap();
    let login = app
        .client
        .post(app.api_url("auth/login"))
        .header("x-tenant-id", TENANT_B)
        .json(&json!({"email": "boss@b.example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let admin_b = expect_json(login, 200).await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let key_b = secret(&create_key(&app, &admin_b, "b-key", &["blog.post.read", "identity.user.read"]).await);

    // B's key, even naming tenant A in the header, reaches none of A's rows.
    let resp = app
        .authed(Method::GET, &format!("blog/posts/{post_id}"), &key_b)
        .header("x-tenant-id", TenantId::DEFAULT.to_string())
        .send()
        .await
        .unwrap();
    assert_problem(resp, 404, "not_found").await.unwrap();
    let posts = expect_json(app.get_as(&key_b, "blog/posts").await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(posts["items"], json!([]));
    let users = expect_json(app.get_as(&key_b, "users").await.unwrap(), 200)
        .await
        .unwrap();
    let emails: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@b.example.com"]);
    // A's keys are invisible to B's administrator.
    let id_a = key_a["id"].as_str().unwrap();
    assert_problem(
        app.get_as(&admin_b, &format!("api-keys/{id_a}")).await.unwrap(),
        404,
        "not_found",
    )
    .await
    .unwrap();
    let revoke = app
        .post_as(&admin_b, &format!("api-keys/{id_a}/revoke"), &json!({}))
        .await
        .unwrap();
    assert_problem(revoke, 404, "not_found").await.unwrap();
    // A's key still reads A's post.
    assert_eq!(
        app.get_as(&secret(&key_a), &format!("blog/posts/{post_id}"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_key_loses_what_its_creator_loses_and_never_gains() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (user_id, role_id, token) = user_with(
        &app,
        &admin,
        "creator@example.com",
        &["identity.apikey.manage", "blog.post.read"],
    )
    .await;
    let key = secret(&create_key(&app, &token, "reader", &["blog.post.read"]).await);
    assert_eq!(app.get_as(&key, "blog/posts").await.unwrap().status(), 200);

    // The creator gains blog.post.create: the key does not.
    let resp = app
        .put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["identity.apikey.manage", "blog.post.read", "blog.post.create"]}),
        )
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(create_post(&app, &token).await.status(), 201);
    assert_problem(create_post(&app, &key).await, 403, "forbidden")
        .await
        .unwrap();

    // The creator loses blog.post.read: so does the key, at once.
    let resp = app
        .put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["identity.apikey.manage"]}),
        )
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_problem(app.get_as(&key, "blog/posts").await.unwrap(), 403, "forbidden")
        .await
        .unwrap();

    // Given back, then the creator is deleted: the key holds nothing.
    let resp = app
        .put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["identity.apikey.manage", "blog.post.read"]}),
        )
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(app.get_as(&key, "blog/posts").await.unwrap().status(), 200);
    expect(app.delete_as(&admin, &format!("users/{user_id}")).await.unwrap(), 204)
        .await
        .unwrap();
    assert_problem(app.get_as(&key, "blog/posts").await.unwrap(), 403, "forbidden")
        .await
        .unwrap();
}

#[tokio::test]
async fn failing_keys_are_rate_limited() {
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__RATE_LIMIT__API_KEY__PER_IP", "3"),
        ("PLATFORM__RATE_LIMIT__API_KEY__WINDOW", "1m"),
    ])
    .await
    .unwrap();
    let admin = app.admin_token().await.unwrap();
    let good = secret(&create_key(&app, &admin, "good", &["blog.post.read"]).await);
    let forged = format!("plt_{}", "A".repeat(43));
    for _ in 0..3 {
        assert_problem(app.get_as(&forged, "blog/posts").await.unwrap(), 401, "unauthorized")
            .await
            .unwrap();
    }
    let resp = with_header(&app, Method::GET, "blog/posts", &forged).await;
    let retry_after: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_problem(resp, 429, "rate_limited").await.unwrap();
    // Successes never count: a valid key from the same address still works,
    // and so do JWT sessions.
    for _ in 0..5 {
        assert_eq!(app.get_as(&good, "blog/posts").await.unwrap().status(), 200);
    }
    assert_eq!(app.get_as(&admin, "blog/posts").await.unwrap().status(), 200);
}

/// A name PostgreSQL cannot store (a NUL) was 503 there and 201 in memory:
/// every profile now refuses control characters alike, naming the field.
#[tokio::test]
async fn a_name_with_a_control_character_is_refused_on_every_profile() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    for name in ["a\u{0}b", "tab\tinside", "esc\u{1b}[31m", "c1\u{85}x"] {
        let resp = app
            .post_as(&admin, "api-keys", &json!({"name": name, "scopes": ["blog.post.read"]}))
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(
            field_errors(&problem),
            vec![("name".to_owned(), "invalid_character".to_owned())],
            "{name:?}: {problem}"
        );
    }
    // Whitespace around the name is trimmed, not refused.
    let key = create_key(&app, &admin, "\n  spaced out \t", &["blog.post.read"]).await;
    assert_eq!(key["name"], "spaced out");
}
