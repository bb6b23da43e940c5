//! Which tenant a request acts in: the token's, else `x-tenant-id`, else the default.

use platform_ports::model::{TenantId, UserId};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use super::{Ports, TOKEN_TENANT, TOKEN_USER, authed, is_token_ctx, user};
use crate::support::{logs, problem};

const TENANT: TenantId = TenantId(Uuid::from_u128(0xbeef));

fn register_in(ports: &mut Ports, tenant: TenantId) {
    ports
        .users
        .expect_register()
        .withf(move |ctx, _| ctx.tenant_id == tenant && ctx.actor.is_none())
        .times(1)
        .returning(|_, _| Ok(user(UserId::new())));
}

fn body() -> serde_json::Value {
    json!({"email": "ada@example.com", "password": "correct horse battery"})
}

#[tokio::test]
async fn an_anonymous_call_acts_in_the_named_tenant() {
    let mut ports = Ports::new();
    register_in(&mut ports, TENANT);
    let app = ports.start().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("x-tenant-id", TENANT.to_string())
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn without_a_header_the_default_tenant_applies() {
    let mut ports = Ports::new();
    register_in(&mut ports, TenantId::DEFAULT);
    let app = ports.start().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn an_invalid_tenant_header_is_400_invalid_tenant() {
    let app = Ports::new().start().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("x-tenant-id", "acme")
        .json(&body())
        .send()
        .await
        .unwrap();
    let body = problem(response, 400, "invalid_tenant").await;
    assert!(body["detail"].as_str().unwrap().contains("x-tenant-id"));
}

#[tokio::test]
async fn a_refused_token_on_a_public_route_is_ignored() {
    let mut ports = Ports::new();
    register_in(&mut ports, TENANT);
    let app = ports.start().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .bearer_auth("expired.token")
        .header("x-tenant-id", TENANT.to_string())
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_malformed_header_is_400_even_with_a_valid_token() {
    let app = Ports::new().start().await;
    for value in ["", "not-even-a-uuid"] {
        let response = authed(&app, Method::GET, "/api/v1/users/me")
            .header("x-tenant-id", value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{value:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_tenant", "{value:?}");
    }
}

#[tokio::test]
async fn the_token_tenant_wins_over_the_header_and_lands_on_the_span() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_get()
        .withf(|ctx, id| is_token_ctx(ctx) && *id == TOKEN_USER)
        .times(1)
        .returning(|_, id| Ok(user(id)));
    let app = ports.start().await;
    // A well-formed header naming another tenant: the token's tenant wins.
    let response = authed(&app, Method::GET, "/api/v1/users/me")
        .header("x-tenant-id", "0190c7a2-0000-7000-8000-000000000042")
        .header("x-request-id", "tenant-span-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let access = logs()
        .lines()
        .into_iter()
        .find(|l| l["span"]["request_id"] == "tenant-span-1" && l["target"] == "platform::http::access")
        .unwrap();
    assert_eq!(access["span"]["user_id"], TOKEN_USER.to_string());
    assert_eq!(access["span"]["tenant_id"], TOKEN_TENANT.to_string());
}
