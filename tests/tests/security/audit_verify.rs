//! `GET /api/v1/audit/verify`: the tenant's hash chain, for holders of
//! `audit.log.verify` (the admin role holds it through the audit module).

use platform_tests::{TestApp, assert_problem, expect_json};
use reqwest::Method;

use crate::support::{assign_role, create_role, id_of, user_session};

#[tokio::test]
async fn the_admin_verifies_the_chain_others_are_refused() {
    let app = TestApp::spawn().await.unwrap();
    let admin = app.admin_token().await.unwrap();
    // Audited flows: a failed login (batched writer) and a registration
    // (unit of work) both join the chain.
    let failed = app.try_login("mallory@example.com", "not-the-password").await.unwrap();
    assert_eq!(failed.status(), 401);
    let (user, tokens) = user_session(&app, "mallory@example.com").await;

    let anonymous = app.request(Method::GET, "audit/verify").send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await.unwrap();
    let denied = app.get_as(&tokens.access_token, "audit/verify").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();

    // The batched writer flushes on its own schedule: wait until the failed
    // login is chained too.
    let mut report = serde_json::Value::Null;
    for _ in 0..50 {
        let resp = app.get_as(&admin, "audit/verify").await.unwrap();
        report = expect_json(resp, 200).await.unwrap();
        let page = expect_json(
            app.authed(Method::GET, "audit", &admin)
                .query(&[("action", "auth.login.failed")])
                .send()
                .await
                .unwrap(),
            200,
        )
        .await
        .unwrap();
        if page["items"].as_array().is_some_and(|items| !items.is_empty()) && report["verified"].as_u64() >= Some(3) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(report["intact"], true, "{report}");
    assert!(report["broken"].is_null(), "{report}");
    assert!(report["verified"].as_u64().unwrap() >= 3, "{report}");
    assert!(report["tenant_id"].is_string(), "{report}");
    assert!(report.get("checkpoint_seq").is_some(), "{report}");

    // Granting the permission is what opens the route.
    let role = create_role(&app, &admin, "auditors", &["audit.log.verify"]).await;
    assign_role(&app, &admin, &id_of(&user), &id_of(&role)).await;
    let tokens = app
        .login("mallory@example.com", crate::support::PASSWORD)
        .await
        .unwrap();
    let allowed = app.get_as(&tokens.access_token, "audit/verify").await.unwrap();
    let report = expect_json(allowed, 200).await.unwrap();
    assert_eq!(report["intact"], true, "{report}");
}
