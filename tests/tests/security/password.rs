//! Password reset (enumeration-safe) and password change.

use std::time::Duration;

use platform_tests::{TestApp, assert_problem, expect, extract_token, field_errors};
use serde_json::json;

use crate::support::{NEW_PASSWORD, PASSWORD, RESET_SUBJECT, user_session};

#[tokio::test]
async fn password_reset_does_not_reveal_accounts_and_revokes_sessions() {
    let app = TestApp::spawn().await.unwrap();
    let (_, before) = user_session(&app, "niaj@example.com").await;

    // The unknown address first, so a wrongly queued mail would be written before the real one.
    let unknown = expect(
        app.post_json("auth/password/forgot", &json!({"email": "ghost@example.com"}))
            .await
            .unwrap(),
        202,
    )
    .await
    .unwrap();
    let known = expect(
        app.post_json("auth/password/forgot", &json!({"email": "niaj@example.com"}))
            .await
            .unwrap(),
        202,
    )
    .await
    .unwrap();
    assert_eq!(unknown.body, known.body, "the answers must not tell the emails apart");
    assert_eq!(unknown.header("content-type"), known.header("content-type"));
    assert_eq!(known.json().unwrap(), json!({"status": "accepted"}));

    let body = app.wait_for_mail("niaj@example.com", RESET_SUBJECT).await.unwrap();
    let token = extract_token(&body).unwrap();
    assert!(
        body.contains(&format!("/reset-password?token={token}")),
        "no reset link in:\n{body}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ghost_mail = app.mails_to("ghost@example.com").await.unwrap();
    assert!(ghost_mail.is_empty(), "an unknown email got mail: {ghost_mail:?}");

    let weak = app
        .post_json("auth/password/reset", &json!({"token": token, "new_password": "short"}))
        .await
        .unwrap();
    let problem = assert_problem(weak, 422, "validation_failed").await.unwrap();
    assert!(
        field_errors(&problem).contains(&("new_password".into(), "too_short".into())),
        "{problem}"
    );

    let resp = app
        .post_json(
            "auth/password/reset",
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();

    let old = app.try_login("niaj@example.com", PASSWORD).await.unwrap();
    assert_problem(old, 401, "invalid_credentials").await.unwrap();
    app.login("niaj@example.com", NEW_PASSWORD).await.unwrap();
    let stale = app.try_refresh(&before.refresh_token).await.unwrap();
    assert_problem(stale, 401, "invalid_token").await.unwrap();

    let reuse = app
        .post_json(
            "auth/password/reset",
            &json!({"token": token, "new_password": "another-long-password"}),
        )
        .await
        .unwrap();
    assert_problem(reuse, 400, "invalid_token").await.unwrap();
    app.login("niaj@example.com", NEW_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = TestApp::spawn().await.unwrap();
    let (_, this) = user_session(&app, "olivia@example.com").await;
    let other = app.login("olivia@example.com", PASSWORD).await.unwrap();

    let wrong_old = app
        .post_as(
            &this.access_token,
            "auth/password/change",
            &json!({"old_password": "not-my-password", "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    assert_problem(wrong_old, 401, "invalid_credentials").await.unwrap();

    let weak = app
        .post_as(
            &this.access_token,
            "auth/password/change",
            &json!({"old_password": PASSWORD, "new_password": "short"}),
        )
        .await
        .unwrap();
    let problem = assert_problem(weak, 422, "validation_failed").await.unwrap();
    assert!(
        field_errors(&problem).contains(&("new_password".into(), "too_short".into())),
        "{problem}"
    );

    let unauthenticated = app
        .post_json(
            "auth/password/change",
            &json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    assert_problem(unauthenticated, 401, "unauthorized").await.unwrap();

    let resp = app
        .post_as(
            &this.access_token,
            "auth/password/change",
            &json!({"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    expect(resp, 204).await.unwrap();

    app.refresh(&this.refresh_token).await.unwrap();
    let ended = app.try_refresh(&other.refresh_token).await.unwrap();
    assert_problem(ended, 401, "invalid_token").await.unwrap();

    let old = app.try_login("olivia@example.com", PASSWORD).await.unwrap();
    assert_problem(old, 401, "invalid_credentials").await.unwrap();
    app.login("olivia@example.com", NEW_PASSWORD).await.unwrap();
}
