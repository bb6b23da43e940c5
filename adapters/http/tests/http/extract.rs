//! `AppJson` and `Ctx` behind the real middleware.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use platform_adapter_http::{AppJson, Ctx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::support::{Setup, TestApp, problem};

#[derive(Debug, Deserialize, Serialize)]
struct NewThing {
    name: String,
    size: u32,
}

fn api() -> Router {
    Router::new()
        .route(
            "/things",
            post(|AppJson(thing): AppJson<NewThing>| async move { AppJson(thing) }),
        )
        .route(
            "/whoami",
            get(|Ctx(ctx): Ctx| async move {
                AppJson(json!({
                    "request_id": &*ctx.request_id,
                    "trace_id": ctx.trace_id.as_deref(),
                    "client_ip": ctx.client_ip.map(|ip| ip.to_string()),
                    "user_agent": ctx.user_agent.as_deref(),
                    "authenticated": ctx.actor.is_some(),
                }))
            }),
        )
}

async fn post_body(app: &TestApp, content_type: Option<&str>, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let mut request = app.client.post(app.url("/things")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_valid_body_round_trips() {
    let app = TestApp::start(api()).await;
    let response = post_body(&app, Some("application/json"), r#"{"name":"box","size":3}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"name": "box", "size": 3})
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::start(api()).await;
    let body = problem(
        post_body(&app, Some("application/json"), r#"{"name":"#).await,
        400,
        "malformed_body",
    )
    .await;
    assert_eq!(body["instance"], "/things");
    assert!(body["detail"].as_str().unwrap().starts_with("malformed JSON"), "{body}");
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_a_400_problem() {
    let app = TestApp::start(api()).await;
    problem(
        post_body(&app, None, r#"{"name":"box","size":3}"#).await,
        400,
        "malformed_body",
    )
    .await;
    problem(
        post_body(&app, Some("text/plain"), r#"{"name":"box","size":3}"#).await,
        400,
        "malformed_body",
    )
    .await;
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_422_naming_the_field() {
    let app = TestApp::start(api()).await;
    let body = problem(
        post_body(&app, Some("application/json"), r#"{"name":"box","size":-1}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "size");
    assert_eq!(body["errors"][0]["code"], "invalid");

    let body = problem(
        post_body(&app, Some("application/json"), r#"{"size":1}"#).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "name");
    assert_eq!(body["errors"][0]["code"], "required");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let mut setup = Setup::new(api());
    setup.max_body_bytes = 1024;
    let app = setup.spawn(Duration::from_secs(1)).await;
    let big = format!(r#"{{"name":"{}","size":1}}"#, "x".repeat(4096));
    problem(
        post_body(&app, Some("application/json"), big).await,
        413,
        "payload_too_large",
    )
    .await;
    let small = post_body(&app, Some("application/json"), r#"{"name":"x","size":1}"#).await;
    assert_eq!(small.status(), 200);
}

#[tokio::test]
async fn ctx_carries_request_id_trace_peer_and_user_agent() {
    let app = TestApp::start(api()).await;
    let response = app
        .client
        .get(app.url("/whoami"))
        .header("x-request-id", "req-42")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .header("user-agent", "tests/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({
            "request_id": "req-42",
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
            "client_ip": "127.0.0.1",
            "user_agent": "tests/1.0",
            "authenticated": false,
        })
    );
}
