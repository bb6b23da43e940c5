//! Issue 11, from outside: every profile answers alike to text it cannot
//! store, the last administrator cannot lock the tenant out, bodies and
//! filters are strict, a deleted user's token is 401, and the OpenAPI
//! document states the rules the server enforces.

use platform_tests::{TestApp, assert_problem, expect, expect_json, field_errors};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{assign_role, create_role, id_of, user_session};

/// The `(field, code)` of a problem's only field error.
fn only_error(problem: &Value) -> (String, String) {
    let errors = field_errors(problem);
    assert_eq!(errors.len(), 1, "{problem}");
    errors[0].clone()
}

/// The id of the tenant's `admin` role.
async fn admin_role_id(app: &TestApp, admin: &str) -> String {
    let roles = expect_json(app.get_as(admin, "roles").await.unwrap(), 200)
        .await
        .unwrap();
    let admin_role = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "admin")
        .unwrap_or_else(|| panic!("no admin role in {roles}"));
    id_of(admin_role)
}

#[tokio::test]
async fn nul_is_422_or_400_naming_the_field_on_every_profile() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();

    // Reachable without a token: registration.
    let resp = app
        .post_json(
            "auth/register",
            &json!({ "email": "nul@example.com", "password": "correct-horse-battery", "display_name": "a\u{0}b" }),
        )
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
    assert_eq!(
        only_error(&problem),
        ("display_name".to_owned(), "invalid_character".to_owned())
    );

    let resp = app
        .post_as(&admin, "blog/posts", &json!({ "title": "a\u{0}b", "content": "y" }))
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
    assert_eq!(
        only_error(&problem),
        ("title".to_owned(), "invalid_character".to_owned())
    );

    let resp = app
        .patch_as(&admin, "users/me", &json!({ "display_name": "a\u{0}b" }))
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
    assert_eq!(only_error(&problem).0, "display_name");

    let resp = app
        .post_as(&admin, "roles", &json!({ "name": "nul", "description": "a\u{0}b" }))
        .await
        .unwrap();
    let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
    assert_eq!(only_error(&problem).0, "description");

    for (path, field) in [
        ("users?email=a%00b", "email"),
        ("audit?action=a%00b", "action"),
        ("blog/posts?tag=a%00b", "tag"),
    ] {
        let resp = app.get_as(&admin, path).await.unwrap();
        let problem = assert_problem(resp, 400, "invalid_parameter").await.unwrap();
        assert_eq!(
            only_error(&problem),
            (field.to_owned(), "invalid_character".to_owned()),
            "{path}"
        );
    }
    // Line breaks are fine in a body.
    let resp = app
        .post_as(&admin, "blog/posts", &json!({ "title": "ok", "content": "a\r\n\tb" }))
        .await
        .unwrap();
    expect(resp, 201).await.unwrap();
}

#[tokio::test]
async fn the_last_administrator_cannot_lock_the_tenant_out() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let me = id_of(&app.me(&admin).await.unwrap());
    let admin_role = admin_role_id(&app, &admin).await;

    let refusals = [
        app.delete_as(&admin, &format!("users/{me}")).await.unwrap(),
        app.put_as(
            &admin,
            &format!("roles/{admin_role}/permissions"),
            &json!({ "permissions": [] }),
        )
        .await
        .unwrap(),
        app.put_as(
            &admin,
            &format!("roles/{admin_role}/permissions"),
            &json!({ "permissions": ["identity.role.assign"] }),
        )
        .await
        .unwrap(),
        app.delete_as(&admin, &format!("users/{me}/roles/{admin_role}"))
            .await
            .unwrap(),
        app.delete_as(&admin, &format!("roles/{admin_role}")).await.unwrap(),
    ];
    for resp in refusals {
        assert_problem(resp, 409, "last_admin").await.unwrap();
    }
    // Still an administrator.
    expect(app.get_as(&admin, "users").await.unwrap(), 200).await.unwrap();

    // With a second administrator, the first may go.
    let (other, other_tokens) = user_session(&app, "second-admin@example.com").await;
    let keeper = create_role(
        &app,
        &admin,
        "keeper",
        &["identity.role.assign", "identity.role.update"],
    )
    .await;
    assign_role(&app, &admin, &id_of(&other), &id_of(&keeper)).await;
    let resp = app
        .put_as(
            &admin,
            &format!("roles/{admin_role}/permissions"),
            &json!({ "permissions": ["identity.user.read"] }),
        )
        .await
        .unwrap();
    expect(resp, 200).await.unwrap();
    // Now `keeper` is what keeps the tenant open.
    let resp = app
        .delete_as(
            &other_tokens.access_token,
            &format!("users/{}/roles/{}", id_of(&other), id_of(&keeper)),
        )
        .await
        .unwrap();
    assert_problem(resp, 409, "last_admin").await.unwrap();
}

#[tokio::test]
async fn a_body_must_be_a_json_object() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    for (method, path, body) in [
        (Method::POST, "blog/posts", r#"["t","c"]"#),
        (Method::PATCH, "users/me", "[null,null]"),
        (Method::POST, "roles", r#""name""#),
        (Method::POST, "auth/login", "42"),
    ] {
        let resp = app
            .authed(method, path, &admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(resp, 422, "validation_failed").await.unwrap();
        assert_eq!(
            only_error(&problem),
            ("body".to_owned(), "invalid".to_owned()),
            "{path} {body}"
        );
    }
}

#[tokio::test]
async fn empty_filters_and_an_empty_tenant_header_are_400() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    for (path, field) in [
        ("blog/posts?author=", "author"),
        ("blog/posts?tag=", "tag"),
        ("audit?to=", "to"),
        ("audit?action=", "action"),
        ("users?role_id=", "role_id"),
        ("users?email=", "email"),
        ("users?cursor=", "cursor"),
    ] {
        let resp = app.get_as(&admin, path).await.unwrap();
        let problem = assert_problem(resp, 400, "invalid_parameter").await.unwrap();
        assert_eq!(only_error(&problem), (field.to_owned(), "empty".to_owned()), "{path}");
    }
    let resp = app
        .request(Method::POST, "auth/login")
        .header("x-tenant-id", "")
        .json(&json!({ "email": "a@example.com", "password": "correct-horse-battery" }))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_tenant").await.unwrap();
    // Even next to a valid token, an empty header is a client bug.
    let resp = app
        .authed(Method::GET, "users/me", &admin)
        .header("x-tenant-id", "")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "invalid_tenant").await.unwrap();
}

#[tokio::test]
async fn a_deleted_users_token_is_401() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (user, tokens) = user_session(&app, "leaving@example.com").await;
    expect(
        app.delete_as(&admin, &format!("users/{}", id_of(&user))).await.unwrap(),
        204,
    )
    .await
    .unwrap();
    let resp = app.get_as(&tokens.access_token, "users/me").await.unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
    let resp = app
        .patch_as(&tokens.access_token, "users/me", &json!({ "display_name": "x" }))
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthorized").await.unwrap();
}

#[tokio::test]
async fn the_openapi_document_states_what_the_server_enforces() {
    let app = TestApp::spawn().await.unwrap();
    let doc: Value = app.get("/openapi.json").await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let register = &schemas["RegisterBody"]["properties"];
    assert_eq!(register["password"]["minLength"], 12, "{register}");
    assert!(register["display_name"]["pattern"].is_string(), "{register}");
    let permissions = &schemas["PermissionsBody"]["properties"]["permissions"]["items"];
    assert!(permissions["pattern"].is_string(), "{permissions}");
    assert!(
        permissions["enum"]
            .as_array()
            .is_some_and(|e| e.contains(&json!("identity.user.read"))),
        "{permissions}"
    );
    let tags = &schemas["PostBody"]["properties"]["tags"]["items"];
    assert!(tags["pattern"].is_string(), "{tags}");

    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    // A bad cursor is 422 on every list.
    for path in ["/api/v1/users", "/api/v1/audit", "/api/v1/blog/posts"] {
        let list = op(path, "get");
        assert!(list["responses"]["422"].is_object(), "{path}: {list}");
        let cursor = list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "cursor")
            .cloned()
            .unwrap();
        assert!(cursor["schema"]["pattern"].is_string(), "{cursor}");
    }
    // The lock-out refusal is documented where it can happen.
    for (path, method) in [
        ("/api/v1/users/{id}", "delete"),
        ("/api/v1/roles/{id}/permissions", "put"),
        ("/api/v1/roles/{id}", "delete"),
        ("/api/v1/users/{id}/roles/{role_id}", "delete"),
    ] {
        assert!(op(path, method)["responses"]["409"].is_object(), "{method} {path}");
    }
    // Every API operation documents 503 with Retry-After.
    let unavailable = &doc["components"]["responses"]["ServiceUnavailable"];
    assert!(unavailable["headers"]["Retry-After"].is_object(), "{unavailable}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/api/") {
            for (method, operation) in item.as_object().unwrap() {
                assert!(operation["responses"]["503"].is_object(), "{method} {path}");
            }
        }
    }
    // A deleted user's token is 401, so `/users/me` has no 404.
    assert!(op("/api/v1/users/me", "get")["responses"]["404"].is_null());
}
