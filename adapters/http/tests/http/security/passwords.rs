//! Mailed tokens (email verification, password reset) and password changes.

use platform_ports::identity::IdentityError;
use platform_ports::model::FieldError;
use reqwest::Method;
use serde_json::json;

use super::{Ports, TOKEN_USER, authed, is_token_ctx, post_json};
use crate::support::problem;

#[tokio::test]
async fn mailed_tokens_are_204_or_400_invalid_token() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_verify_email()
        .returning(|_, token| match token.expose() {
            "mailed" => Ok(()),
            _ => Err(IdentityError::InvalidToken),
        });
    ports.users.expect_reset_password().returning(|_, token, new_password| {
        match (token.expose(), new_password.expose()) {
            ("mailed", "a long new password") => Ok(()),
            ("mailed", _) => Err(IdentityError::Validation(
                FieldError::new("new_password", "too_short", "must be at least 12 characters").into(),
            )),
            _ => Err(IdentityError::InvalidToken),
        }
    });
    let app = ports.start().await;

    let ok = post_json(&app, "/api/v1/auth/verify-email", json!({"token": "mailed"})).await;
    assert_eq!(ok.status(), 204);
    let used = post_json(&app, "/api/v1/auth/verify-email", json!({"token": "used"})).await;
    assert!(!used.headers().contains_key("www-authenticate"));
    problem(used, 400, "invalid_token").await;

    let reset = |token: &'static str, password: &'static str| {
        post_json(
            &app,
            "/api/v1/auth/password/reset",
            json!({"token": token, "new_password": password}),
        )
    };
    assert_eq!(reset("mailed", "a long new password").await.status(), 204);
    problem(reset("expired", "a long new password").await, 400, "invalid_token").await;
    let body = problem(reset("mailed", "short").await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
}

#[tokio::test]
async fn forgot_password_is_always_202_accepted() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_request_password_reset()
        .withf(|ctx, email| ctx.actor.is_none() && email == "who@example.com")
        .times(1)
        .returning(|_, _| Ok(()));
    let app = ports.start().await;
    let response = post_json(
        &app,
        "/api/v1/auth/password/forgot",
        json!({"email": "who@example.com"}),
    )
    .await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "accepted"}));
}

#[tokio::test]
async fn change_password_acts_for_the_token_user() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_change_password()
        .withf(|ctx, id, old, new| {
            is_token_ctx(ctx)
                && *id == TOKEN_USER
                && new.expose() == "a brand new password"
                && old.expose().starts_with("old")
        })
        .returning(|_, _, old, _| match old.expose() {
            "old password ok" => Ok(()),
            _ => Err(IdentityError::InvalidCredentials),
        });
    let app = ports.start().await;
    let body = |old: &str| json!({"old_password": old, "new_password": "a brand new password"});

    let anonymous = post_json(&app, "/api/v1/auth/password/change", body("old password ok")).await;
    problem(anonymous, 401, "unauthorized").await;

    let response = authed(&app, Method::POST, "/api/v1/auth/password/change")
        .json(&body("old password ok"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let response = authed(&app, Method::POST, "/api/v1/auth/password/change")
        .json(&body("old but wrong"))
        .send()
        .await
        .unwrap();
    problem(response, 401, "invalid_credentials").await;
}
