//! `/healthz`, `/ready` and `/metrics`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use platform_ports::health::{CheckResult, CheckState, HealthReport};
use serde_json::json;

use crate::support::{Setup, TestApp, problem};

fn check(status: CheckState, message: Option<&str>, duration_ms: u64) -> CheckResult {
    CheckResult {
        status,
        message: message.map(str::to_owned),
        duration_ms,
    }
}

async fn with_report(report: HealthReport) -> TestApp {
    let mut setup = Setup::new(Router::new());
    setup.health.expect_check().times(1).return_const(report);
    setup.spawn(Duration::from_secs(1)).await
}

#[tokio::test]
async fn healthz_is_ok_without_asking_any_dependency() {
    let mut setup = Setup::new(Router::new());
    setup.health.expect_check().never();
    let app = setup.spawn(Duration::from_secs(1)).await;

    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"status": "ok"})
    );
}

#[tokio::test]
async fn ready_is_200_when_nothing_is_down() {
    let checks = BTreeMap::from([
        ("database".to_owned(), check(CheckState::Up, None, 3)),
        (
            "cache".to_owned(),
            check(CheckState::Degraded, Some("serving from memory"), 1),
        ),
    ]);
    let app = with_report(HealthReport { checks }).await;

    let response = app.get("/ready").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({
            "status": "ready",
            "checks": {
                "cache": {"status": "degraded", "message": "serving from memory", "duration_ms": 1},
                "database": {"status": "up", "duration_ms": 3}
            }
        })
    );
}

#[tokio::test]
async fn ready_is_503_naming_the_failing_check() {
    let checks = BTreeMap::from([
        (
            "database".to_owned(),
            check(CheckState::Down, Some("connection refused"), 250),
        ),
        ("cache".to_owned(), check(CheckState::Up, None, 1)),
    ]);
    let app = with_report(HealthReport { checks }).await;

    let response = app.get("/ready").await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the readiness document, not a problem"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(
        body["checks"]["database"],
        json!({"status": "down", "message": "connection refused", "duration_ms": 250})
    );
    assert_eq!(body["checks"]["cache"]["status"], "up");
}

#[tokio::test]
async fn metrics_serves_the_rendered_text() {
    let text = "# TYPE http_server_request_duration_seconds histogram\nup 1\n";
    let mut setup = Setup::new(Router::new());
    setup.rendered = Ok(text.to_owned());
    let app = setup.spawn(Duration::from_secs(1)).await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), text);
}

#[tokio::test]
async fn a_failing_render_is_a_500_problem_reported_to_the_error_bus() {
    let mut setup = Setup::new(Router::new());
    setup.rendered = Err("exporter broke: token=abc".to_owned());
    let app = setup.spawn(Duration::from_secs(1)).await;

    let response = app.get("/metrics").await;
    let id = crate::support::request_id(&response);
    let body = problem(response, 500, "internal_error").await;
    assert!(
        !body.to_string().contains("exporter"),
        "the cause stays out of the body: {body}"
    );

    let published = app.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, id);
    assert_eq!(
        published[0].1.message,
        "metrics could not be rendered: exporter broke: token=abc"
    );
}
