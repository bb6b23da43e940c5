//! Users: listing with filters and cursors, profile updates, deletion, tenants.

use std::collections::BTreeSet;

use platform_tests::{ADMIN_EMAIL, TestApp, assert_problem, expect, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{PASSWORD, assign_role, create_role, id_of, user_session, verify_email};

/// The emails of a `List<User>` page.
fn emails(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET users` with `query` as the holder of `token`.
async fn list_users(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let resp = app
        .authed(Method::GET, "users", token)
        .query(query)
        .send()
        .await
        .unwrap();
    expect_json(resp, 200).await.unwrap()
}

#[tokio::test]
async fn admins_list_users_with_filters_and_cursor_pages() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let registered = ["carol@example.com", "dave@example.com", "erin@example.org"];
    for email in registered {
        app.register(email, PASSWORD).await.unwrap();
    }
    let everyone: BTreeSet<String> = registered
        .iter()
        .map(|e| (*e).to_owned())
        .chain([ADMIN_EMAIL.to_owned()])
        .collect();

    let all = list_users(&app, &admin, &[("limit", "200")]).await;
    assert_eq!(emails(&all), everyone);
    assert!(all["next_cursor"].is_null(), "{all}");

    let org = list_users(&app, &admin, &[("email", "example.org")]).await;
    assert_eq!(emails(&org), BTreeSet::from(["erin@example.org".to_owned()]));
    let carol = list_users(&app, &admin, &[("email", "CAROL")]).await;
    assert_eq!(emails(&carol), BTreeSet::from(["carol@example.com".to_owned()]));
    let verified = list_users(&app, &admin, &[("verified", "true")]).await;
    assert_eq!(emails(&verified), BTreeSet::from([ADMIN_EMAIL.to_owned()]));
    let unverified = list_users(&app, &admin, &[("verified", "false")]).await;
    assert_eq!(emails(&unverified).len(), registered.len());

    // Walk every page of one.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=everyone.len() {
        let mut query = vec![("limit", "1")];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let page = list_users(&app, &admin, &query).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1, "limit=1 gave {page}");
        seen.extend(items.iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "paging did not end after {seen:?}");
    assert_eq!(seen.len(), everyone.len(), "duplicates or gaps: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), everyone);
}

#[tokio::test]
async fn bad_list_parameters_are_refused() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    // A forged cursor is refused; the contract leaves open whether as a bad
    // query value (400) or as the service's validation error (422).
    let resp = app
        .authed(Method::GET, "users", &admin)
        .query(&[("cursor", "not-a-cursor")])
        .send()
        .await
        .unwrap();
    let (status, code) = if resp.status() == 422 {
        (422, "validation_failed")
    } else {
        (400, "invalid_parameter")
    };
    assert_problem(resp, status, code).await.unwrap();

    // The contract: a bad query value is 400 `invalid_parameter`, and `limit` is 1..=200.
    for bad in [
        ("limit", "many"),
        ("verified", "maybe"),
        ("limit", "0"),
        ("limit", "201"),
    ] {
        let resp = app
            .authed(Method::GET, "users", &admin)
            .query(&[bad])
            .send()
            .await
            .unwrap();
        assert_problem(resp, 400, "invalid_parameter")
            .await
            .unwrap_or_else(|e| panic!("{bad:?}: {e:#}"));
    }
}

#[tokio::test]
async fn users_can_be_filtered_by_role() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (walter, _) = user_session(&app, "walter@example.com").await;
    app.register("xena@example.com", PASSWORD).await.unwrap();
    let role = create_role(&app, &admin, "walkers", &[]).await;
    assign_role(&app, &admin, &id_of(&walter), &id_of(&role)).await;
    let page = list_users(&app, &admin, &[("role_id", &id_of(&role))]).await;
    assert_eq!(emails(&page), BTreeSet::from(["walter@example.com".to_owned()]));
}

#[tokio::test]
async fn admins_get_update_and_delete_users() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let (user, tokens) = user_session(&app, "yara@example.com").await;
    let path = format!("users/{}", id_of(&user));

    let got = expect_json(app.get_as(&admin, &path).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(got["email"], user["email"]);
    assert_eq!(got["id"], user["id"]);

    let patched = expect_json(
        app.patch_as(&admin, &path, &json!({"display_name": "Yara"}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(patched["display_name"], "Yara");
    assert_eq!(app.me(&tokens.access_token).await.unwrap()["display_name"], "Yara");

    let taken = app
        .patch_as(&admin, &path, &json!({"email": ADMIN_EMAIL}))
        .await
        .unwrap();
    assert_problem(taken, 409, "email_taken").await.unwrap();

    // A user without identity.user.* cannot touch another user.
    let (_, other) = user_session(&app, "zed@example.com").await;
    let forbidden = app
        .patch_as(&other.access_token, &path, &json!({"display_name": "pwned"}))
        .await
        .unwrap();
    assert_problem(forbidden, 403, "forbidden").await.unwrap();
    let forbidden = app.delete_as(&other.access_token, &path).await.unwrap();
    assert_problem(forbidden, 403, "forbidden").await.unwrap();

    expect(app.delete_as(&admin, &path).await.unwrap(), 204).await.unwrap();
    let login = app.try_login("yara@example.com", PASSWORD).await.unwrap();
    assert_problem(login, 401, "invalid_credentials").await.unwrap();
    let refresh = app.try_refresh(&tokens.refresh_token).await.unwrap();
    assert_problem(refresh, 401, "invalid_token").await.unwrap();
    let gone = app.get_as(&admin, &path).await.unwrap();
    assert_problem(gone, 404, "not_found").await.unwrap();
    let again = app.delete_as(&admin, &path).await.unwrap();
    assert_problem(again, 404, "not_found").await.unwrap();
    let bad = app.get_as(&admin, "users/not-a-uuid").await.unwrap();
    assert_problem(bad, 400, "invalid_parameter").await.unwrap();
}

#[tokio::test]
async fn users_update_their_own_profile() {
    let app = TestApp::spawn().await.unwrap();
    let (user, tokens) = user_session(&app, "amy@example.com").await;
    verify_email(&app, "amy@example.com").await;

    let me = expect_json(
        app.patch_as(&tokens.access_token, "users/me", &json!({"display_name": "Amy"}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(me["display_name"], "Amy");
    assert_eq!(me["id"], user["id"]);
    assert_eq!(app.me(&tokens.access_token).await.unwrap()["display_name"], "Amy");

    let cleared = expect_json(
        app.patch_as(&tokens.access_token, "users/me", &json!({"display_name": null}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert!(cleared["display_name"].is_null(), "{cleared}");

    // A new email is unverified again, and logs in.
    let moved = expect_json(
        app.patch_as(&tokens.access_token, "users/me", &json!({"email": "amy@example.net"}))
            .await
            .unwrap(),
        200,
    )
    .await
    .unwrap();
    assert_eq!(moved["email"], "amy@example.net");
    assert_eq!(moved["email_verified"], false, "{moved}");
    app.login("amy@example.net", PASSWORD).await.unwrap();

    let bad = app
        .patch_as(&tokens.access_token, "users/me", &json!({"email": "nope"}))
        .await
        .unwrap();
    assert_problem(bad, 422, "validation_failed").await.unwrap();
    let anonymous = app
        .request(Method::PATCH, "users/me")
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401, "unauthorized").await.unwrap();
}

#[tokio::test]
async fn tenants_do_not_see_each_other() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    let tenant = uuid::Uuid::new_v4().to_string();

    let resp = app
        .request(Method::POST, "auth/register")
        .header("x-tenant-id", &tenant)
        .json(&json!({"email": "bea@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let user = expect_json(resp, 201).await.unwrap();
    assert_eq!(user["tenant_id"], tenant.as_str());

    let hidden = app.get_as(&admin, &format!("users/{}", id_of(&user))).await.unwrap();
    assert_problem(hidden, 404, "not_found").await.unwrap();
    let all = list_users(&app, &admin, &[("limit", "200")]).await;
    assert!(!emails(&all).contains("bea@example.com"), "{all}");

    let wrong_tenant = app.try_login("bea@example.com", PASSWORD).await.unwrap();
    assert_problem(wrong_tenant, 401, "invalid_credentials").await.unwrap();

    let resp = app
        .request(Method::POST, "auth/login")
        .header("x-tenant-id", &tenant)
        .json(&json!({"email": "bea@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let tokens = expect_json(resp, 200).await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let claims = platform_tests::jwt::decode_unverified(access).unwrap().claims;
    assert_eq!(claims["tenant_id"], tenant.as_str());
    let me = app.me(access).await.unwrap();
    assert_eq!(me["tenant_id"], tenant.as_str());

    // The token's tenant wins over a header naming another one.
    let resp = app
        .authed(Method::GET, "users/me", access)
        .header("x-tenant-id", platform_tests::DEFAULT_TENANT)
        .send()
        .await
        .unwrap();
    let me = expect_json(resp, 200).await.unwrap();
    assert_eq!(me["tenant_id"], tenant.as_str());
}
