//! Operational endpoints, error handling and shutdown over real HTTP.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use platform_bootstrap::app::PlatformOptions;
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::health::{HealthChecker, HealthRegistry, HealthStatus};
use platform_ports::model::RequestContext;
use platform_tests::{TestApp, test_settings};
use serde_json::Value;
use shaku::HasComponent;

fn is_problem(resp: &reqwest::Response) -> bool {
    resp.headers().get("content-type").and_then(|v| v.to_str().ok()) == Some("application/problem+json")
}

#[tokio::test]
async fn healthz_is_live_and_echoes_request_id() {
    let app = TestApp::spawn().await.unwrap();
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");

    let generated = app.get("/healthz").await.unwrap();
    assert!(!generated.headers()["x-request-id"].is_empty());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn ready_runs_the_registered_checks() {
    let app = TestApp::spawn().await.unwrap();
    let resp = app.get("/ready").await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["disk"]["status"], "up", "{body}");
    assert!(body["checks"]["memory"]["status"] != "down", "{body}");
    app.stop().await.unwrap();
}

struct Failing;

#[async_trait::async_trait]
impl HealthChecker for Failing {
    async fn check(&self) -> Result<HealthStatus, BoxError> {
        Err("connection refused".into())
    }
}

#[tokio::test]
async fn ready_is_503_naming_the_failing_check() {
    let app = TestApp::spawn().await.unwrap();
    let registry: Arc<dyn HealthRegistry> = app.module.resolve();
    registry.register("database", Arc::new(Failing));
    let resp = app.get("/ready").await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["database"]["status"], "down");
    assert!(
        body["checks"]["database"]["message"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    assert_eq!(body["checks"]["disk"]["status"], "up");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_show_the_request_histogram() {
    let app = TestApp::spawn().await.unwrap();
    assert_eq!(app.get("/healthz").await.unwrap().status(), 200);
    let resp = app.get("/metrics").await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("http_server_request_duration_seconds_count") && l.contains("http_route=\"/healthz\""))
        .unwrap_or_else(|| panic!("no histogram line for /healthz in:\n{text}"));
    assert!(line.contains("http_request_method=\"GET\""), "{line}");
    assert!(line.contains("http_response_status_code=\"200\""), "{line}");
    assert!(
        text.contains("http_server_request_duration_seconds_bucket"),
        "histogram buckets missing"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await.unwrap();
    let resp = app.get("/no/such/route").await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(is_problem(&resp));
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["request_id"], request_id.as_str());
    app.stop().await.unwrap();
}

/// Records what reaches the error bus.
#[derive(Default)]
struct Recorder(Mutex<Vec<ErrorReport>>);

impl ErrorPublisher for Recorder {
    fn publish(&self, report: ErrorReport) {
        self.0.lock().unwrap().push(report);
    }
    fn publish_with_context(&self, ctx: &RequestContext, mut report: ErrorReport) {
        report.context.request_id = Some(ctx.request_id.clone());
        self.publish(report);
    }
}

struct RecorderHandle(Arc<Recorder>);

impl ErrorPublisher for RecorderHandle {
    fn publish(&self, report: ErrorReport) {
        self.0.publish(report);
    }
    fn publish_with_context(&self, ctx: &RequestContext, report: ErrorReport) {
        self.0.publish_with_context(ctx, report);
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_on_the_error_bus() {
    let recorder = Arc::new(Recorder::default());
    let handle = RecorderHandle(recorder.clone());
    let options = PlatformOptions {
        customize: Some(Box::new(move |b| {
            b.with_component_override::<dyn ErrorPublisher>(Box::new(handle))
        })),
        routes: axum::Router::new().route(
            "/test/panic",
            get(|| async {
                if true {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        ),
    };
    let app = TestApp::spawn_with(test_settings(&[]).unwrap(), options).await.unwrap();

    let resp = app
        .client
        .get(app.url("/test/panic"))
        .header("x-request-id", "panic-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert!(is_problem(&resp));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "internal_error");
    assert_eq!(body["request_id"], "panic-1");
    assert!(
        !body.to_string().contains("exploded"),
        "5xx bodies must not leak the cause: {body}"
    );

    // The server keeps serving.
    assert_eq!(app.get("/healthz").await.unwrap().status(), 200);

    let reports = recorder.0.lock().unwrap().clone();
    let report = reports
        .iter()
        .find(|r| r.message.contains("handler exploded"))
        .unwrap_or_else(|| panic!("not on the error bus: {reports:?}"));
    assert_eq!(report.context.request_id.as_deref(), Some("panic-1"));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_completes_an_in_flight_request() {
    let options = PlatformOptions {
        customize: None,
        routes: axum::Router::new().route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(600)).await;
                "done"
            }),
        ),
    };
    let mut app = TestApp::spawn_with(test_settings(&[]).unwrap(), options).await.unwrap();
    let client = app.client.clone();
    let url = app.url("/test/slow");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;

    let task = app.begin_stop().unwrap();
    let resp = in_flight.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "done");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    // Stopped: new connections are refused.
    assert!(app.get("/healthz").await.is_err());
}
