//! `/api/v1/auth/*`: bodies in, token pairs and users out, errors as problems.

use std::time::Duration;

use platform_ports::auth::AuthError;
use platform_ports::auth::TokenPair;
use platform_ports::identity::IdentityError;
use platform_ports::model::{FieldError, TenantId, UserId, ValidationErrors};
use serde_json::json;
use uuid::Uuid;

use super::{Ports, post_json, user};
use crate::support::problem;

const NEW_USER: UserId = UserId(Uuid::from_u128(0x0123));

fn pair(suffix: &str) -> TokenPair {
    TokenPair {
        access_token: format!("access-{suffix}"),
        refresh_token: format!("refresh-{suffix}"),
        token_type: "Bearer".to_owned(),
        expires_in: 900,
    }
}

#[tokio::test]
async fn register_is_201_with_location_and_never_a_hash() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_register()
        .withf(|_, input| {
            input.email == "Ada@Example.com"
                && input.password.expose() == "correct horse battery"
                && input.display_name.as_deref() == Some("Ada")
        })
        .times(1)
        .returning(|_, _| Ok(user(NEW_USER)));
    let app = ports.start().await;
    let response = post_json(
        &app,
        "/api/v1/auth/register",
        json!({"email": "Ada@Example.com", "password": "correct horse battery", "display_name": "Ada"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], format!("/api/v1/users/{NEW_USER}"));
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(!text.contains("password"), "{text}");
    assert!(!text.contains("hash"), "{text}");
    assert!(!text.contains("argon2"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({
            "id": NEW_USER.to_string(),
            "tenant_id": super::TOKEN_TENANT.to_string(),
            "email": "ada@example.com",
            "display_name": "Ada",
            "email_verified": false,
            "digest": false,
            "created_at": "2026-03-04T05:06:07.000000Z",
            "updated_at": "2026-03-04T05:06:07.000000Z",
        })
    );
}

#[tokio::test]
async fn register_validation_is_422_with_field_errors() {
    let mut ports = Ports::new();
    ports.users.expect_register().returning(|_, _| {
        let mut errors = ValidationErrors::default();
        errors.push(FieldError::new(
            "password",
            "too_short",
            "must be at least 12 characters",
        ));
        errors.push(FieldError::new("email", "invalid", "must be a valid email address"));
        Err(IdentityError::Validation(errors))
    });
    let app = ports.start().await;
    let response = post_json(
        &app,
        "/api/v1/auth/register",
        json!({"email": "nope", "password": "short"}),
    )
    .await;
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(
        body["errors"],
        json!([
            {"field": "password", "code": "too_short", "message": "must be at least 12 characters"},
            {"field": "email", "code": "invalid", "message": "must be a valid email address"},
        ])
    );
}

#[tokio::test]
async fn register_with_a_missing_field_is_422_naming_it() {
    let app = Ports::new().start().await;
    let response = post_json(&app, "/api/v1/auth/register", json!({"email": "a@b.co"})).await;
    let body = problem(response, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");
    assert_eq!(body["errors"][0]["code"], "required");
}

#[tokio::test]
async fn a_taken_email_is_409_email_taken() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_register()
        .returning(|_, _| Err(IdentityError::Conflict("email_taken".to_owned())));
    let app = ports.start().await;
    let response = post_json(
        &app,
        "/api/v1/auth/register",
        json!({"email": "ada@example.com", "password": "correct horse battery"}),
    )
    .await;
    problem(response, 409, "email_taken").await;
}

#[tokio::test]
async fn login_returns_the_token_pair_for_the_request_tenant() {
    let tenant = TenantId(Uuid::from_u128(0xf00d));
    let mut ports = Ports::new();
    ports
        .authenticator
        .expect_login()
        .withf(move |ctx, creds| {
            creds.email == "ada@example.com"
                && creds.password.expose() == "correct horse battery"
                && creds.tenant_id == tenant
                && ctx.tenant_id == tenant
        })
        .times(1)
        .returning(|_, _| Ok(pair("1")));
    let app = ports.start().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-tenant-id", tenant.to_string())
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"access_token": "access-1", "refresh_token": "refresh-1", "token_type": "Bearer", "expires_in": 900})
    );
}

#[tokio::test]
async fn login_failures_map_to_their_problems() {
    let mut ports = Ports::new();
    let mut outcomes = vec![
        AuthError::InvalidCredentials,
        AuthError::EmailNotVerified,
        AuthError::RateLimited {
            retry_after: Duration::from_secs(30),
        },
    ]
    .into_iter();
    ports
        .authenticator
        .expect_login()
        .times(3)
        .returning(move |_, _| Err(outcomes.next().unwrap()));
    let app = ports.start().await;
    let login = || {
        post_json(
            &app,
            "/api/v1/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password!"}),
        )
    };

    let response = login().await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body = problem(response, 401, "invalid_credentials").await;
    assert!(!body.to_string().contains("ada@example.com"));

    problem(login().await, 403, "email_not_verified").await;

    let response = login().await;
    assert_eq!(response.headers()["retry-after"], "30");
    problem(response, 429, "rate_limited").await;
}

#[tokio::test]
async fn refresh_rotates_and_a_bad_refresh_token_is_401_invalid_token() {
    let mut ports = Ports::new();
    ports
        .authenticator
        .expect_refresh()
        .returning(|_, token| match token.expose() {
            "refresh-1" => Ok(pair("2")),
            _ => Err(AuthError::InvalidToken(None)),
        });
    let app = ports.start().await;
    let response = post_json(&app, "/api/v1/auth/refresh", json!({"refresh_token": "refresh-1"})).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["refresh_token"], "refresh-2");

    let response = post_json(&app, "/api/v1/auth/refresh", json!({"refresh_token": "reused"})).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn logout_is_204_and_a_bad_refresh_token_401() {
    let mut ports = Ports::new();
    ports
        .authenticator
        .expect_logout()
        .returning(|_, token| match token.expose() {
            "refresh-1" => Ok(()),
            _ => Err(AuthError::InvalidToken(None)),
        });
    let app = ports.start().await;
    let response = post_json(&app, "/api/v1/auth/logout", json!({"refresh_token": "refresh-1"})).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    let response = post_json(&app, "/api/v1/auth/logout", json!({"refresh_token": "gone"})).await;
    problem(response, 401, "invalid_token").await;
}

#[tokio::test]
async fn a_backend_failure_is_503_with_nothing_internal_in_the_body() {
    let mut ports = Ports::new();
    ports.authenticator.expect_login().returning(|_, _| {
        Err(AuthError::Backend(
            "postgres: password authentication failed for user platform".into(),
        ))
    });
    let app = ports.start().await;
    let response = post_json(
        &app,
        "/api/v1/auth/login",
        json!({"email": "ada@example.com", "password": "correct horse battery"}),
    )
    .await;
    let body = problem(response, 503, "service_unavailable").await;
    assert!(!body.to_string().contains("postgres"), "{body}");
    let published = app.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].1.message, "authentication backend failed");
    assert_eq!(
        published[0].1.chain,
        ["postgres: password authentication failed for user platform"]
    );
}
