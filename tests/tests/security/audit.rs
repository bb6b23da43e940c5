//! The audit trail of the security flows, its filters and its permission.

use std::collections::BTreeSet;

use platform_tests::{TestApp, assert_problem, expect, expect_json, extract_token};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{NEW_PASSWORD, PASSWORD, RESET_SUBJECT, assign_role, create_role, id_of, user_session};

const USER_AGENT: &str = "platform-tests/audit";
const ROLE_REQUEST_ID: &str = "audit-role-create-1";

/// `GET audit` with `query` as `token`.
async fn audit(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let resp = app
        .authed(Method::GET, "audit", token)
        .query(query)
        .send()
        .await
        .unwrap();
    expect_json(resp, 200).await.unwrap()
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap_or_else(|| panic!("no items: {page}"))
}

/// What the flows leave behind for the assertions.
struct Flows {
    admin: String,
    admin_id: String,
    user_id: String,
    user_token: String,
    /// Passwords and tokens that went over the wire and must never be audited.
    secrets: Vec<String>,
}

/// Runs every audited flow once.
async fn run_the_flows(app: &TestApp) -> Flows {
    let admin = app.admin_token().await.unwrap();
    let admin_id = id_of(&app.me(&admin).await.unwrap());
    let failed = app.try_login("ivy@example.com", "not-the-password").await.unwrap();
    assert_eq!(failed.status(), 401);

    let (user, first) = user_session(app, "ivy@example.com").await;
    let user_id = id_of(&user);

    let resp = app
        .authed(Method::POST, "roles", &admin)
        .header("x-request-id", ROLE_REQUEST_ID)
        .header("user-agent", USER_AGENT)
        .json(&json!({"name": "readers"}))
        .send()
        .await
        .unwrap();
    let role = expect_json(resp, 201).await.unwrap();
    let role_id = id_of(&role);
    let granted = app
        .put_as(
            &admin,
            &format!("roles/{role_id}/permissions"),
            &json!({"permissions": ["identity.user.read"]}),
        )
        .await
        .unwrap();
    expect(granted, 200).await.unwrap();
    assign_role(app, &admin, &user_id, &role_id).await;
    // A second role created through the helper, so role.created has two entries.
    create_role(app, &admin, "spare", &[]).await;

    let second = app.refresh(&first.refresh_token).await.unwrap();
    let replay = app.try_refresh(&first.refresh_token).await.unwrap();
    assert_eq!(replay.status(), 401);

    expect(
        app.post_json("auth/password/forgot", &json!({"email": "ivy@example.com"}))
            .await
            .unwrap(),
        202,
    )
    .await
    .unwrap();
    let mail = app.wait_for_mail("ivy@example.com", RESET_SUBJECT).await.unwrap();
    let reset_token = extract_token(&mail).unwrap();
    let reset = app
        .post_json(
            "auth/password/reset",
            &json!({"token": reset_token, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    expect(reset, 204).await.unwrap();
    let user_token = app.login("ivy@example.com", NEW_PASSWORD).await.unwrap().access_token;

    let secrets = vec![
        PASSWORD.to_owned(),
        NEW_PASSWORD.to_owned(),
        reset_token,
        first.refresh_token,
        second.refresh_token,
    ];
    Flows {
        admin,
        admin_id,
        user_id,
        user_token,
        secrets,
    }
}

#[tokio::test]
async fn the_audit_trail_records_every_security_flow() {
    let app = TestApp::spawn_with_overrides(&[("PLATFORM__AUTH__REFRESH_REUSE_GRACE", "0s")])
        .await
        .unwrap();
    let Flows {
        admin,
        admin_id,
        user_id,
        user_token,
        secrets,
    } = run_the_flows(&app).await;

    let all = audit(&app, &admin, &[("limit", "200")]).await;
    let entries = items(&all);
    let actions: BTreeSet<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "auth.login.succeeded",
        "auth.login.failed",
        "user.created",
        "role.created",
        "role.assigned",
        "permission.granted",
        "auth.refresh_token.reused",
        "user.password_reset",
    ] {
        assert!(actions.contains(expected), "no {expected} in {actions:?}");
    }
    for entry in entries {
        assert!(
            entry["request_id"].as_str().is_some_and(|id| !id.is_empty()),
            "entry without request_id: {entry}"
        );
        for key in [
            "id",
            "tenant_id",
            "actor_id",
            "target_id",
            "metadata",
            "occurred_at",
            "ip",
            "user_agent",
        ] {
            assert!(entry.get(key).is_some(), "no {key} in {entry}");
        }
    }
    let text = all.to_string();
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the audit trail holds a secret: {secret}"
        );
    }

    // Newest first.
    let stamps: Vec<chrono::DateTime<chrono::FixedOffset>> = entries
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "not newest first: {stamps:?}");
    assert_eq!(
        entries[0]["action"], "auth.login.succeeded",
        "the last flow was a login"
    );

    // Attribution comes from the request.
    let created = entries
        .iter()
        .find(|e| e["action"] == "role.created" && e["request_id"] == ROLE_REQUEST_ID)
        .unwrap_or_else(|| panic!("no role.created with request id {ROLE_REQUEST_ID}: {all}"));
    assert_eq!(created["actor_id"], admin_id.as_str());
    assert_eq!(created["user_agent"], USER_AGENT);
    assert!(
        created["ip"].as_str().is_some_and(|ip| ip.contains("127.0.0.1")),
        "{created}"
    );
    let registered = entries
        .iter()
        .find(|e| e["action"] == "user.created" && e["target_id"] == user_id.as_str())
        .unwrap_or_else(|| panic!("no user.created targeting {user_id}: {all}"));
    assert!(registered["occurred_at"].is_string());

    // Filters.
    let failed = audit(&app, &admin, &[("action", "auth.login.failed")]).await;
    assert!(!items(&failed).is_empty());
    assert!(
        items(&failed).iter().all(|e| e["action"] == "auth.login.failed"),
        "{failed}"
    );
    // Both filters at once (the bootstrap admin role was created by the system, not the admin).
    let roles = audit(&app, &admin, &[("action", "role.created"), ("actor_id", &admin_id)]).await;
    assert_eq!(items(&roles).len(), 2, "{roles}");
    let by_admin = audit(&app, &admin, &[("actor_id", &admin_id)]).await;
    assert!(
        items(&by_admin).iter().all(|e| e["actor_id"] == admin_id.as_str()),
        "{by_admin}"
    );
    assert!(
        items(&by_admin).iter().any(|e| e["action"] == "role.created"),
        "{by_admin}"
    );
    assert!(items(&by_admin).len() < entries.len());
    let on_user = audit(&app, &admin, &[("target_id", &user_id)]).await;
    assert!(!items(&on_user).is_empty());
    assert!(
        items(&on_user).iter().all(|e| e["target_id"] == user_id.as_str()),
        "{on_user}"
    );

    let long_ago = "2000-01-01T00:00:00Z";
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert!(items(&audit(&app, &admin, &[("to", long_ago)]).await).is_empty());
    assert!(items(&audit(&app, &admin, &[("from", &later)]).await).is_empty());
    let since = audit(&app, &admin, &[("from", long_ago), ("limit", "200")]).await;
    assert_eq!(items(&since).len(), entries.len());

    // Cursor pages cover the trail exactly once, in the same order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..=entries.len() {
        let mut query = vec![("limit", "3")];
        if let Some(c) = cursor.as_deref() {
            query.push(("cursor", c));
        }
        let page = audit(&app, &admin, &query).await;
        walked.extend(items(&page).iter().map(|e| e["id"].clone()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let ids: Vec<Value> = entries.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(walked, ids);

    // Holding identity.user.read is not audit.log.read.
    let denied = app.get_as(&user_token, "audit").await.unwrap();
    assert_problem(denied, 403, "forbidden").await.unwrap();
    let anonymous = app.request(Method::GET, "audit").send().await.unwrap();
    assert_problem(anonymous, 401, "unauthorized").await.unwrap();
}
