//! 401 without or with a bad token, 403 without the permission, 200 with it,
//! 503 when the authorizer's backend fails.

use platform_ports::authz::AuthzError;
use platform_ports::identity::permissions as perm;
use platform_ports::model::{Page, UserId};
use reqwest::Method;

use super::{Ports, TOKEN, TOKEN_USER, authed, is_token_ctx, user};
use crate::support::problem;

const USERS: &str = "/api/v1/users";

#[tokio::test]
async fn without_a_token_a_protected_route_is_401_with_a_bearer_challenge() {
    let app = Ports::new().start().await;
    let response = app.get(USERS).await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body = problem(response, 401, "unauthorized").await;
    assert_eq!(body["instance"], USERS);
}

#[tokio::test]
async fn a_refused_token_is_the_same_401_as_no_token() {
    let app = Ports::new().start().await;
    let missing = problem(app.get(USERS).await, 401, "unauthorized").await;
    for header in ["Bearer forged.token.here", "Bearer ", "bearer forged"] {
        let response = app
            .client
            .get(app.url(USERS))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = problem(response, 401, "unauthorized").await;
        assert_eq!(
            body["detail"], missing["detail"],
            "the detail never says which check failed"
        );
    }
}

#[tokio::test]
async fn a_valid_token_without_the_permission_is_403_naming_it() {
    let app = Ports::new().deny(perm::USER_READ).start().await;
    let response = authed(&app, Method::GET, USERS).send().await.unwrap();
    assert!(!response.headers().contains_key("www-authenticate"));
    let body = problem(response, 403, "forbidden").await;
    assert!(
        body["detail"].as_str().unwrap().contains("identity.user.read"),
        "{body}"
    );
}

#[tokio::test]
async fn a_valid_token_with_the_permission_reaches_the_handler_as_the_actor() {
    let mut ports = Ports::new().grant(perm::USER_READ);
    ports
        .users
        .expect_list()
        .withf(|ctx, _, _| is_token_ctx(ctx))
        .times(1)
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![user(UserId::new())],
                next_cursor: None,
            })
        });
    let app = ports.start().await;
    let response = authed(&app, Method::GET, USERS).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_authorizer_failure_is_503_published_with_the_actor() {
    let mut ports = Ports::new();
    ports
        .authorizer
        .expect_authorize()
        .returning(|_, _| Err(AuthzError::Backend("permission cache: connection refused".into())));
    let app = ports.start().await;
    let response = authed(&app, Method::GET, USERS)
        .header("x-request-id", "authz-down")
        .send()
        .await
        .unwrap();
    let body = problem(response, 503, "service_unavailable").await;
    assert!(!body.to_string().contains("refused"));

    let published = app.published();
    assert_eq!(published.len(), 1);
    let (request_id, report) = &published[0];
    assert_eq!(request_id, "authz-down");
    assert_eq!(report.message, "authorization backend failed");
    assert_eq!(report.chain, ["permission cache: connection refused"]);
    assert_eq!(report.context.user_id, Some(TOKEN_USER));
}

#[tokio::test]
async fn authenticated_routes_need_a_token_but_no_permission() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_get()
        .withf(|ctx, id| is_token_ctx(ctx) && *id == TOKEN_USER)
        .times(1)
        .returning(|_, id| Ok(user(id)));
    let app = ports.start().await;

    let response = app.get("/api/v1/users/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401, "unauthorized").await;

    let response = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthorized").await;

    let response = app
        .client
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], TOKEN_USER.to_string());
}

#[tokio::test]
async fn the_guard_runs_before_the_body_is_read() {
    let app = Ports::new().start().await;
    let response = app
        .client
        .post(app.url("/api/v1/roles"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(response, 401, "unauthorized").await;
}
