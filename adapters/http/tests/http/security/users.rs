//! `/api/v1/users*`: filters, paging, path ids and profile updates.

use platform_ports::identity::IdentityError;
use platform_ports::identity::permissions as perm;
use platform_ports::identity::{User, UserFilter, UserUpdates};
use platform_ports::model::{Email, Page, PageRequest, RoleId, UserId};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{Ports, TOKEN_USER, authed, is_token_ctx, user};
use crate::support::problem;

const ROLE: RoleId = RoleId(Uuid::from_u128(0x401e));
const OTHER: UserId = UserId(Uuid::from_u128(0x0b0b));

#[tokio::test]
async fn list_parses_filters_and_paging() {
    let mut ports = Ports::new().grant(perm::USER_READ);
    ports
        .users
        .expect_list()
        .withf(|ctx, filter, page| {
            is_token_ctx(ctx)
                && *filter
                    == UserFilter {
                        email_contains: Some("ada".to_owned()),
                        email_verified: Some(true),
                        role_id: Some(ROLE),
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
                items: vec![user(OTHER)],
                next_cursor: Some("next".to_owned()),
            })
        });
    let app = ports.start().await;
    let path = format!("/api/v1/users?email=ada&verified=true&role_id={ROLE}&limit=10&cursor=abc");
    let response = authed(&app, Method::GET, &path).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["next_cursor"], "next");
    assert_eq!(body["items"][0]["id"], OTHER.to_string());
    assert_eq!(body["items"][0]["email"], "ada@example.com");
    assert!(body["items"][0].get("password_hash").is_none());
}

#[tokio::test]
async fn defaults_and_blank_filters() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    ports
        .users
        .expect_list()
        .withf(|_, filter, page| *filter == UserFilter::default() && *page == PageRequest::default())
        .times(1)
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![],
                next_cursor: None,
            })
        });
    let app = ports.start().await;
    let response = authed(&app, Method::GET, "/api/v1/users").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"items": [], "next_cursor": null}));

    // An empty value is not "no filter": it is 400 naming the parameter.
    for field in ["email", "verified", "role_id", "limit", "cursor"] {
        let response = authed(&app, Method::GET, &format!("/api/v1/users?{field}="))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], field);
        assert_eq!(body["errors"][0]["code"], "empty");
    }
}

#[tokio::test]
async fn bad_or_out_of_range_query_values_are_400() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    let app = ports.start().await;
    for (query, field) in [
        ("verified=yes", "verified"),
        ("role_id=editor", "role_id"),
        ("limit=ten", "limit"),
        ("limit=-5", "limit"),
    ] {
        let response = authed(&app, Method::GET, &format!("/api/v1/users?{query}"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}");
    }
    for limit in ["0", "201"] {
        let response = authed(&app, Method::GET, &format!("/api/v1/users?limit={limit}"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400, "invalid_parameter").await;
        assert_eq!(body["errors"][0]["field"], "limit");
    }
}

#[tokio::test]
async fn a_bad_path_id_is_400_and_an_unknown_one_404() {
    let mut ports = Ports::new();
    ports.authorizer.expect_authorize().returning(|_, _| Ok(()));
    ports
        .users
        .expect_get()
        .withf(|_, id| *id == OTHER)
        .returning(|_, _| Err(IdentityError::NotFound));
    let app = ports.start().await;
    let response = authed(&app, Method::GET, "/api/v1/users/42").send().await.unwrap();
    let body = problem(response, 400, "invalid_parameter").await;
    assert_eq!(body["errors"][0]["field"], "id");
    let response = authed(&app, Method::GET, &format!("/api/v1/users/{OTHER}"))
        .send()
        .await
        .unwrap();
    problem(response, 404, "not_found").await;
}

#[tokio::test]
async fn patch_me_tells_null_from_absent_and_validates_the_email() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_update_profile()
        .withf(|ctx, id, updates| {
            is_token_ctx(ctx)
                && *id == TOKEN_USER
                && *updates
                    == UserUpdates {
                        display_name: Some(None),
                        email: Some(Email::parse("new@example.com").unwrap()),
                        digest: None,
                    }
        })
        .times(1)
        .returning(|_, id, _| Ok(user(id)));
    let app = ports.start().await;
    let response = authed(&app, Method::PATCH, "/api/v1/users/me")
        .json(&json!({"display_name": null, "email": "New@Example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let response = authed(&app, Method::PATCH, "/api/v1/users/me")
        .json(&json!({"email": "not an email"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(body["errors"][0]["code"], "invalid");
}

#[tokio::test]
async fn only_the_caller_opts_in_to_the_digest() {
    let mut ports = Ports::new().grant(perm::USER_UPDATE);
    ports
        .users
        .expect_update_profile()
        .withf(|_, id, updates| {
            *id == TOKEN_USER
                && *updates
                    == UserUpdates {
                        digest: Some(true),
                        ..UserUpdates::default()
                    }
        })
        .times(1)
        .returning(|_, id, _| {
            Ok(User {
                digest: true,
                ..user(id)
            })
        });
    let app = ports.start().await;
    let response = authed(&app, Method::PATCH, "/api/v1/users/me")
        .json(&json!({"digest": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["digest"], true);

    // An administrator does not opt a user in: the field is unknown there.
    let response = authed(&app, Method::PATCH, &format!("/api/v1/users/{OTHER}"))
        .json(&json!({"digest": true}))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "digest");
    assert_eq!(body["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn patch_and_delete_another_user_need_their_own_permissions() {
    let mut ports = Ports::new().grant(perm::USER_UPDATE).grant(perm::USER_DELETE);
    ports
        .users
        .expect_update_profile()
        .withf(|_, id, updates| {
            *id == OTHER
                && *updates
                    == UserUpdates {
                        display_name: Some(Some("Bob".to_owned())),
                        email: None,
                        digest: None,
                    }
        })
        .times(1)
        .returning(|_, id, _| Ok(user(id)));
    ports
        .users
        .expect_delete()
        .withf(|ctx, id| is_token_ctx(ctx) && *id == OTHER)
        .times(1)
        .returning(|_, _| Ok(()));
    let app = ports.start().await;
    let path = format!("/api/v1/users/{OTHER}");
    let response = authed(&app, Method::PATCH, &path)
        .json(&json!({"display_name": "Bob"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = authed(&app, Method::DELETE, &path).send().await.unwrap();
    assert_eq!(response.status(), 204);
}
