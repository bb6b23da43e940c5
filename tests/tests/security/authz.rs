//! 401 vs 403, the grant flow, roles and permissions.

use std::collections::BTreeSet;

use platform_tests::{TestApp, assert_problem, expect, expect_json, field_errors};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{assign_role, create_role, id_of, user_session};

/// The names in a `{"items": [...]}` list of strings.
fn strings(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// The `permissions` of a role, as a set.
fn permissions(role: &Value) -> BTreeSet<String> {
    role["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("no permissions: {role}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_user_is_denied_then_granted_then_denied_again() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (user, tokens) = user_session(&app, "sybil@example.com").await;
    let user_id = id_of(&user);

    let anonymous = app.request(Method::GET, "users").send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await.unwrap();
    let denied = app.get_as(&tokens.access_token, "users").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();

    let role = create_role(&app, &admin, "user-readers", &["identity.user.read"]).await;
    let role_id = id_of(&role);
    assign_role(&app, &admin, &user_id, &role_id).await;

    // The same access token: permissions are resolved per request, not frozen in the token.
    let list = expect_json(app.get_as(&tokens.access_token, "users").await.unwrap(), 200)
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|u| u["id"] == user["id"]), "{list}");
    // The grant is exactly the one permission.
    let other = app.get_as(&tokens.access_token, "roles").await.unwrap();
    assert_problem(other, 403, "forbidden").await.unwrap();

    let revoked = app
        .delete_as(&admin, &format!("users/{user_id}/roles/{role_id}"))
        .await
        .unwrap();
    expect(revoked, 204).await.unwrap();
    let denied = app.get_as(&tokens.access_token, "users").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();
}

#[tokio::test]
async fn changing_a_roles_permissions_takes_effect_at_once() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (user, tokens) = user_session(&app, "trent@example.com").await;
    let role = create_role(&app, &admin, "auditors", &[]).await;
    let role_id = id_of(&role);
    assign_role(&app, &admin, &id_of(&user), &role_id).await;
    let denied = app.get_as(&tokens.access_token, "audit").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();

    let path = format!("roles/{role_id}/permissions");
    let grant = app
        .put_as(&admin, &path, &json!({"permissions": ["audit.log.read"]}))
        .await
        .unwrap();
    expect_json(grant, 200).await.unwrap();
    expect_json(app.get_as(&tokens.access_token, "audit").await.unwrap(), 200)
        .await
        .unwrap();
    let revoke = app.put_as(&admin, &path, &json!({"permissions": []})).await.unwrap();
    expect_json(revoke, 200).await.unwrap();
    let denied = app.get_as(&tokens.access_token, "audit").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();
}

#[tokio::test]
async fn roles_can_be_created_read_updated_and_deleted() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();

    let resp = app
        .post_as(
            &admin,
            "roles",
            &json!({"name": "editors", "description": "Edit things", "permissions": ["identity.user.read"]}),
        )
        .await
        .unwrap();
    let reply = expect(resp, 201).await.unwrap();
    let role = reply.json().unwrap();
    let role_id = id_of(&role);
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/roles/{role_id}").as_str())
    );
    assert_eq!(role["name"], "editors");
    assert_eq!(role["description"], "Edit things");
    assert_eq!(permissions(&role), BTreeSet::from(["identity.user.read".to_owned()]));
    for key in ["tenant_id", "created_at", "updated_at"] {
        assert!(role.get(key).is_some(), "no {key} in {role}");
    }

    let duplicate = app.post_as(&admin, "roles", &json!({"name": "editors"})).await.unwrap();
    assert_problem(duplicate, 409, "role_name_taken").await.unwrap();
    let unknown = app
        .post_as(
            &admin,
            "roles",
            &json!({"name": "ghosts", "permissions": ["ghost.haunt.house"]}),
        )
        .await
        .unwrap();
    let problem = assert_problem(unknown, 422, "validation_failed").await.unwrap();
    assert!(
        field_errors(&problem).contains(&("permissions".into(), "unknown_permission".into())),
        "{problem}"
    );

    let list = expect_json(app.get_as(&admin, "roles").await.unwrap(), 200)
        .await
        .unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"editors") && names.contains(&"admin"), "{list}");
    assert!(!names.contains(&"ghosts"), "a rejected role was stored: {list}");
    assert!(list["next_cursor"].is_null(), "{list}");

    let got = expect_json(app.get_as(&admin, &format!("roles/{role_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(got, role);

    let updated = expect_json(
        app.patch_as(
            &admin,
            &format!("roles/{role_id}"),
            &json!({"name": "writers", "description": "Write things"}),
        )
        .await
        .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(updated["name"], "writers");
    assert_eq!(updated["description"], "Write things");
    let clash = app
        .patch_as(&admin, &format!("roles/{role_id}"), &json!({"name": "admin"}))
        .await
        .unwrap();
    assert_problem(clash, 409, "role_name_taken").await.unwrap();

    let replaced = expect_json(
        app.put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["audit.log.read", "identity.role.read"]}),
        )
        .await
        .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(
        permissions(&replaced),
        BTreeSet::from(["audit.log.read".to_owned(), "identity.role.read".to_owned()])
    );
    let bad = app
        .put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["ghost.haunt.house"]}),
        )
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await.unwrap();

    expect(app.delete_as(&admin, &format!("roles/{role_id}")).await.unwrap(), 204)
        .await
        .unwrap();
    let gone = app.get_as(&admin, &format!("roles/{role_id}")).await.unwrap();
    assert_problem(gone, 404, "not_found").await.unwrap();
    let bad_id = app.get_as(&admin, "roles/not-a-uuid").await.unwrap();
    assert_problem(bad_id, 400, "invalid_parameter").await.unwrap();
}

#[tokio::test]
async fn the_declared_permissions_are_listed_sorted() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let list = expect_json(app.get_as(&admin, "permissions").await.unwrap(), 200)
        .await
        .unwrap();
    let names = strings(&list);
    for expected in [
        "audit.log.read",
        "identity.user.read",
        "identity.user.update",
        "identity.user.delete",
        "identity.role.create",
        "identity.role.read",
        "identity.role.update",
        "identity.role.delete",
        "identity.role.assign",
        "identity.permission.read",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {list}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "permissions are not sorted");

    // The admin role holds every declared permission.
    let roles = expect_json(app.get_as(&admin, "roles").await.unwrap(), 200)
        .await
        .unwrap();
    let admin_role = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "admin")
        .unwrap_or_else(|| panic!("no admin role in {roles}"));
    assert_eq!(permissions(admin_role), names.into_iter().collect::<BTreeSet<_>>());

    let (_, tokens) = user_session(&app, "uma@example.com").await;
    let denied = app.get_as(&tokens.access_token, "permissions").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();
}
