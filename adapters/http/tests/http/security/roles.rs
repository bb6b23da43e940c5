//! Roles, their permissions, assignments and the permission catalogue.

use platform_ports::audit::permissions::LOG_READ;
use platform_ports::authz::Permission;
use platform_ports::identity::IdentityError;
use platform_ports::identity::permissions as perm;
use platform_ports::model::{FieldError, RoleId, UserId};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{Ports, authed, is_token_ctx, role};
use crate::support::problem;

const ROLE: RoleId = RoleId(Uuid::from_u128(0x401e));
const USER: UserId = UserId(Uuid::from_u128(0x0b0b));

#[tokio::test]
async fn create_is_201_with_location_and_the_role_shape() {
    let mut ports = Ports::new().grant(perm::ROLE_CREATE);
    ports
        .roles
        .expect_create()
        .withf(|ctx, input| {
            is_token_ctx(ctx)
                && input.name == "editor"
                && input.description.is_none()
                && input.permissions == [Permission::declare("blog.post.update")]
        })
        .times(1)
        .returning(|_, _| Ok(role(ROLE)));
    let app = ports.start().await;
    let response = authed(&app, Method::POST, "/api/v1/roles")
        .json(&json!({"name": "editor", "permissions": ["blog.post.update"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], format!("/api/v1/roles/{ROLE}"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "id": ROLE.to_string(),
            "tenant_id": super::TOKEN_TENANT.to_string(),
            "name": "editor",
            "description": "edits",
            "permissions": ["blog.post.update"],
            "created_at": "2026-03-04T05:06:07.000000Z",
            "updated_at": "2026-03-04T05:06:07.000000Z",
        })
    );
}

#[tokio::test]
async fn unknown_permissions_and_taken_names_are_refused() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    ports
        .roles
        .expect_create()
        .withf(|_, input| input.name == "taken")
        .returning(|_, _| Err(IdentityError::Conflict("role_name_taken".to_owned())));
    ports.roles.expect_set_permissions().returning(|_, _, _| {
        Err(IdentityError::Validation(
            FieldError::new("permissions", "unknown_permission", "`no.such.thing` is not declared").into(),
        ))
    });
    let app = ports.start().await;

    let response = authed(&app, Method::POST, "/api/v1/roles")
        .json(&json!({"name": "x", "permissions": ["Not A Permission"]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "permissions");
    assert_eq!(body["errors"][0]["code"], "unknown_permission");

    let response = authed(&app, Method::POST, "/api/v1/roles")
        .json(&json!({"name": "taken"}))
        .send()
        .await
        .unwrap();
    problem(response, 409, "role_name_taken").await;

    let response = authed(&app, Method::PUT, &format!("/api/v1/roles/{ROLE}/permissions"))
        .json(&json!({"permissions": ["no.such.thing"]}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unknown_permission");
}

#[tokio::test]
async fn list_and_get_need_role_read() {
    let mut ports = Ports::new().grant(perm::ROLE_READ).grant(perm::ROLE_READ);
    ports.roles.expect_list().times(1).returning(|_| Ok(vec![role(ROLE)]));
    ports
        .roles
        .expect_get()
        .withf(|_, id| *id == ROLE)
        .times(1)
        .returning(|_, id| Ok(role(id)));
    let app = ports.start().await;
    let body: serde_json::Value = authed(&app, Method::GET, "/api/v1/roles")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["next_cursor"], json!(null));
    assert_eq!(body["items"][0]["name"], "editor");
    let response = authed(&app, Method::GET, &format!("/api/v1/roles/{ROLE}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn patch_keeps_what_the_client_left_out() {
    let mut ports = Ports::new().grant(perm::ROLE_UPDATE);
    ports.roles.expect_get().times(1).returning(|_, id| Ok(role(id)));
    ports
        .roles
        .expect_update()
        .withf(|ctx, id, input| {
            is_token_ctx(ctx)
                && *id == ROLE
                && input.name == "editor"
                && input.description.is_none()
                && input.permissions.is_empty()
        })
        .times(1)
        .returning(|_, id, _| Ok(role(id)));
    let app = ports.start().await;
    let response = authed(&app, Method::PATCH, &format!("/api/v1/roles/{ROLE}"))
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn delete_set_permissions_assign_and_revoke() {
    let mut ports = Ports::new()
        .grant(perm::ROLE_DELETE)
        .grant(perm::ROLE_UPDATE)
        .grant(perm::ROLE_ASSIGN)
        .grant(perm::ROLE_ASSIGN);
    ports
        .roles
        .expect_delete()
        .withf(|_, id| *id == ROLE)
        .times(1)
        .returning(|_, _| Ok(()));
    ports
        .roles
        .expect_set_permissions()
        .withf(|_, id, permissions| *id == ROLE && *permissions == [perm::USER_READ, LOG_READ])
        .times(1)
        .returning(|_, id, _| Ok(role(id)));
    ports
        .roles
        .expect_assign()
        .withf(|ctx, user, role| is_token_ctx(ctx) && *user == USER && *role == ROLE)
        .times(1)
        .returning(|_, _, _| Ok(()));
    ports
        .roles
        .expect_revoke()
        .withf(|_, user, role| *user == USER && *role == ROLE)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let app = ports.start().await;

    let status = |method: Method, path: String, body: Option<serde_json::Value>| {
        let mut request = authed(&app, method, &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        status(
            Method::PUT,
            format!("/api/v1/roles/{ROLE}/permissions"),
            Some(json!({"permissions": ["identity.user.read", "audit.log.read"]}))
        )
        .await,
        200
    );
    assert_eq!(
        status(
            Method::POST,
            format!("/api/v1/users/{USER}/roles"),
            Some(json!({"role_id": ROLE.to_string()}))
        )
        .await,
        204
    );
    assert_eq!(
        status(Method::DELETE, format!("/api/v1/users/{USER}/roles/{ROLE}"), None).await,
        204
    );
    assert_eq!(status(Method::DELETE, format!("/api/v1/roles/{ROLE}"), None).await, 204);
}

#[tokio::test]
async fn a_bad_role_id_in_a_body_is_422_and_in_a_path_400() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    let app = ports.start().await;
    let response = authed(&app, Method::POST, &format!("/api/v1/users/{USER}/roles"))
        .json(&json!({"role_id": "admin"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "role_id");
    let response = authed(&app, Method::DELETE, &format!("/api/v1/users/{USER}/roles/admin"))
        .send()
        .await
        .unwrap();
    let body = problem(response, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "role_id");
}

#[tokio::test]
async fn permissions_are_listed_sorted() {
    let mut ports = Ports::new().grant(perm::PERMISSION_READ);
    ports
        .roles
        .expect_declared_permissions()
        .returning(|| vec![perm::USER_READ, LOG_READ, Permission::declare("blog.post.read")]);
    let app = ports.start().await;
    let body: serde_json::Value = authed(&app, Method::GET, "/api/v1/permissions")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"items": ["audit.log.read", "blog.post.read", "identity.user.read"]})
    );
}
