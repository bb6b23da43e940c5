//! Shared fixtures of the security suite.

use platform_tests::{TestApp, TokenPair, expect_json, extract_token};
use serde_json::{Value, json};

/// A password that passes the default policy (12+ characters, not the email).
pub const PASSWORD: &str = "correct-horse-battery";

/// A second valid password, for changes and resets.
pub const NEW_PASSWORD: &str = "staple-gun-lighthouse";

/// Subject of the verification mail.
pub const VERIFY_SUBJECT: &str = "Verify your email address";

/// Subject of the password reset mail.
pub const RESET_SUBJECT: &str = "Reset your password";

/// Registers `email` with [`PASSWORD`] and logs in: the user and their tokens.
pub async fn user_session(app: &TestApp, email: &str) -> (Value, TokenPair) {
    let user = app.register(email, PASSWORD).await.unwrap();
    let tokens = app.login(email, PASSWORD).await.unwrap();
    (user, tokens)
}

/// The user's id as a string.
pub fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_owned()
}

/// Creates a role as `admin` and returns it.
pub async fn create_role(app: &TestApp, admin: &str, name: &str, permissions: &[&str]) -> Value {
    let resp = app
        .post_as(admin, "roles", &json!({ "name": name, "permissions": permissions }))
        .await
        .unwrap();
    expect_json(resp, 201).await.unwrap()
}

/// Assigns `role_id` to `user_id` as `admin` (204).
pub async fn assign_role(app: &TestApp, admin: &str, user_id: &str, role_id: &str) {
    let resp = app
        .post_as(admin, &format!("users/{user_id}/roles"), &json!({ "role_id": role_id }))
        .await
        .unwrap();
    platform_tests::expect(resp, 204).await.unwrap();
}

/// Waits for the verification mail to `email` and verifies it (204).
pub async fn verify_email(app: &TestApp, email: &str) {
    let body = app.wait_for_mail(email, VERIFY_SUBJECT).await.unwrap();
    let token = extract_token(&body).unwrap();
    let resp = app
        .post_json("auth/verify-email", &json!({ "token": token }))
        .await
        .unwrap();
    platform_tests::expect(resp, 204).await.unwrap();
}

/// The JSON body minus the fields that differ per request.
pub fn without_request_fields(mut problem: Value) -> Value {
    if let Some(map) = problem.as_object_mut() {
        map.remove("request_id");
        map.remove("instance");
    }
    problem
}
