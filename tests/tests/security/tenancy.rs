//! Tenants cannot see each other: an administrator of tenant B, holding
//! every permission there, reaches none of tenant A's rows through any route.

use platform_bootstrap::config::DatabaseDriver;
use platform_ports::identity::UserService;
use platform_ports::model::{RequestContext, SecretString, TenantId};
use platform_tests::{TestApp, expect_json};
use reqwest::Method;
use serde_json::json;
use shaku::HasComponent;
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use crate::support::{PASSWORD, create_role, id_of, user_session};

const TENANT_B: &str = "3b1f5a9e-8c2d-4e6f-9a1b-2c3d4e5f6a7b";

#[tokio::test]
async fn an_admin_of_another_tenant_reaches_nothing_of_this_one() {
    let app = TestApp::spawn().await.unwrap();

    // Tenant A (the default tenant): a user, a role, an audit trail.
    let admin_a = app.admin_token().await.unwrap();
    let (victim, _) = user_session(&app, "victim@example.com").await;
    let victim_id = id_of(&victim);
    let role_a = create_role(&app, &admin_a, "a-readers", &["identity.user.read"]).await;
    let role_a_id = id_of(&role_a);

    // Tenant B's administrator (set up through the use case, as the CLI does).
    let users: std::sync::Arc<dyn UserService> = app.module.resolve();
    let ctx = RequestContext {
        tenant_id: TENANT_B.parse::<uuid::Uuid>().map(TenantId).unwrap(),
        ..RequestContext::system("test")
    };
    users
        .ensure_admin(&ctx, "boss@b.example.com", &SecretString::new(PASSWORD))
        .await
        .unwrap();
    let login = app
        .client
        .post(app.api_url("auth/login"))
        .header("x-tenant-id", TENANT_B)
        .json(&json!({"email": "boss@b.example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let admin_b = expect_json(login, 200).await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Every route that names one of A's rows answers 404 to B's administrator.
    let attempts = [
        (Method::GET, format!("users/{victim_id}"), None),
        (
            Method::PATCH,
            format!("users/{victim_id}"),
            Some(json!({"display_name": "pwned"})),
        ),
        (Method::DELETE, format!("users/{victim_id}"), None),
        (Method::GET, format!("roles/{role_a_id}"), None),
        (
            Method::PATCH,
            format!("roles/{role_a_id}"),
            Some(json!({"name": "pwned"})),
        ),
        (
            Method::PUT,
            format!("roles/{role_a_id}/permissions"),
            Some(json!({"permissions": ["audit.log.read"]})),
        ),
        (Method::DELETE, format!("roles/{role_a_id}"), None),
        (
            Method::POST,
            format!("users/{victim_id}/roles"),
            Some(json!({"role_id": role_a_id})),
        ),
        (Method::DELETE, format!("users/{victim_id}/roles/{role_a_id}"), None),
    ];
    for (method, path, body) in attempts {
        let mut req = app.authed(method.clone(), &path, &admin_b);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 404, "{method} {path} reached another tenant's row");
    }

    // Lists show only B's own rows.
    let users_b = expect_json(app.get_as(&admin_b, "users?limit=200").await.unwrap(), 200)
        .await
        .unwrap();
    let emails: Vec<&str> = users_b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["boss@b.example.com"]);
    let roles_b = expect_json(app.get_as(&admin_b, "roles").await.unwrap(), 200)
        .await
        .unwrap();
    assert!(
        roles_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"] != "a-readers")
    );
    let audit_b = expect_json(app.get_as(&admin_b, "audit?limit=200").await.unwrap(), 200)
        .await
        .unwrap();
    assert!(
        audit_b["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["tenant_id"] == TENANT_B),
        "B's audit shows another tenant's entries"
    );

    // And nothing of A changed.
    let still = expect_json(app.get_as(&admin_a, &format!("users/{victim_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_ne!(still["display_name"], "pwned");
    let role = expect_json(app.get_as(&admin_a, &format!("roles/{role_a_id}")).await.unwrap(), 200)
        .await
        .unwrap();
    assert_eq!(role["name"], "a-readers");
    assert_eq!(role["permissions"], json!(["identity.user.read"]));

    if app.settings.database.driver == DatabaseDriver::Postgres {
        row_level_security_bound_the_platform(&app).await;
    }
}

/// On PostgreSQL all of the above ran behind the second wall: the role every
/// pooled connection of the platform takes is no superuser, and without a
/// tenant set it sees none of the rows the test just made.
async fn row_level_security_bound_the_platform(app: &TestApp) {
    let database = &app.settings.database;
    assert!(
        !database.app_role.is_empty(),
        "the PostgreSQL profile must run as database.app_role"
    );
    let dsn: PgConnectOptions = database.dsn.expose().parse().unwrap();
    let mut owner = dsn.connect().await.unwrap();
    let mut platform = dsn
        .clone()
        .options([("role", database.app_role.as_str())])
        .connect()
        .await
        .unwrap();
    let superuser: bool = sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(&mut platform)
        .await
        .unwrap();
    assert!(
        !superuser,
        "{} is a superuser: RLS would not bind it",
        database.app_role
    );
    let count = "SELECT count(*) FROM users";
    let stored: i64 = sqlx::query_scalar(count).fetch_one(&mut owner).await.unwrap();
    let seen: i64 = sqlx::query_scalar(count).fetch_one(&mut platform).await.unwrap();
    assert!(stored >= 2, "the test's users are stored: {stored}");
    assert_eq!(seen, 0, "with no tenant set, the platform's role saw {seen} users");
}
