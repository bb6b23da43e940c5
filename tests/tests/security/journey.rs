//! The "Done when" story in one go: an admin, a new user who verifies
//! the email from the `.eml` file, logs in, refreshes, is denied, is granted a
//! permission, and the admin reads the audit trail of all of it.

use platform_tests::{TestApp, assert_problem, expect_json};
use reqwest::Method;
use serde_json::Value;

use crate::support::{PASSWORD, assign_role, create_role, id_of, verify_email};

#[tokio::test]
async fn a_new_user_is_verified_denied_granted_and_audited() {
    let app = TestApp::spawn_with_overrides(&[("PLATFORM__AUTH__REQUIRE_VERIFIED_EMAIL", "true")])
        .await
        .unwrap();
    let admin = app.admin_token().await.unwrap();

    let user = app.register("newcomer@example.com", PASSWORD).await.unwrap();
    let user_id = id_of(&user);
    verify_email(&app, "newcomer@example.com").await;
    let tokens = app.login("newcomer@example.com", PASSWORD).await.unwrap();
    let tokens = app.refresh(&tokens.refresh_token).await.unwrap();

    let denied = app.get_as(&tokens.access_token, "users").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();

    let role = create_role(&app, &admin, "directory", &["identity.user.read"]).await;
    assign_role(&app, &admin, &user_id, &id_of(&role)).await;
    let list = expect_json(app.get_as(&tokens.access_token, "users").await.unwrap(), 200)
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().len() >= 2, "{list}");

    let resp = app
        .authed(Method::GET, "audit", &admin)
        .query(&[("limit", "200")])
        .send()
        .await
        .unwrap();
    let trail = expect_json(resp, 200).await.unwrap();
    let entries = trail["items"].as_array().unwrap();
    let about_user = |action: &str| {
        entries.iter().any(|e: &Value| {
            e["action"] == action && (e["actor_id"] == user_id.as_str() || e["target_id"] == user_id.as_str())
        })
    };
    for action in [
        "user.created",
        "user.email_verified",
        "auth.login.succeeded",
        "role.assigned",
    ] {
        assert!(about_user(action), "no {action} about the user in {trail}");
    }
}
