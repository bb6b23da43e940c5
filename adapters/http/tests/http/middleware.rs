//! Request ids, metrics, problem conversion, panics, causes and timeouts.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use platform_adapter_http::Problem;
use platform_ports::metrics::LabelValue;

use crate::support::{Setup, TestApp, problem, request_id};

fn api() -> Router {
    Router::new()
        .route(
            "/things/{id}",
            get(|Path(id): Path<u32>| async move { format!("thing {id}") }),
        )
        .route("/panic", get(explode))
        .route(
            "/fail",
            get(|| async { Problem::internal().with_cause(std::io::Error::other("database said: password=hunter2")) }),
        )
        .route(
            "/plain500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "stack trace: secret internals") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            }),
        )
}

async fn explode() -> &'static str {
    panic!("kaboom at the handler")
}

#[tokio::test]
async fn a_request_records_its_duration_under_the_route_template() {
    let app = TestApp::start(api()).await;
    let response = app.get("/things/7").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "thing 7");

    let created = app.metrics.created.lock().unwrap().clone();
    let histogram = created
        .iter()
        .find(|(name, ..)| *name == "http.server.request.duration")
        .unwrap();
    assert_eq!(histogram.1, "s");
    assert_eq!(histogram.2.as_ref().unwrap().first(), Some(&0.005));
    assert!(
        created
            .iter()
            .any(|(name, unit, _)| *name == "http.server.request.errors" && *unit == "{error}")
    );

    let recorded = app.metrics.measurements("http.server.request.duration");
    assert_eq!(recorded.len(), 1);
    let m = &recorded[0];
    assert_eq!(m.label("http.request.method"), Some(&LabelValue::Static("GET")));
    assert_eq!(
        m.label("http.route"),
        Some(&LabelValue::Shared(Arc::from("/things/{id}")))
    );
    assert_eq!(m.label("http.response.status_code"), Some(&LabelValue::Int(200)));
    assert!(m.value > 0.0 && m.value < 5.0, "seconds, not micros: {}", m.value);
    assert!(app.metrics.measurements("http.server.request.errors").is_empty());
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem_without_a_route_label() {
    let app = TestApp::start(api()).await;
    let response = app.get("/nowhere?secret=1").await;
    assert!(!request_id(&response).is_empty());
    let body = problem(response, 404, "not_found").await;
    assert_eq!(body["instance"], "/nowhere");

    let recorded = app.metrics.measurements("http.server.request.duration");
    assert_eq!(recorded[0].label("http.route"), None);
    assert_eq!(
        recorded[0].label("http.response.status_code"),
        Some(&LabelValue::Int(404))
    );
}

#[tokio::test]
async fn a_sane_request_id_is_echoed_and_an_insane_one_replaced() {
    let app = TestApp::start(api()).await;
    let response = app
        .client
        .get(app.url("/things/1"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&response), "abc-123");

    let response = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "from-client")
        .send()
        .await
        .unwrap();
    let body = problem(response, 404, "not_found").await;
    assert_eq!(body["request_id"], "from-client");

    let long = "x".repeat(129);
    let response = app
        .client
        .get(app.url("/things/1"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = request_id(&response);
    assert_ne!(id, long);
    assert!(!id.is_empty());
}

#[tokio::test]
async fn generated_request_ids_differ() {
    let app = TestApp::start(api()).await;
    let first = request_id(&app.get("/healthz").await);
    let second = request_id(&app.get("/healthz").await);
    assert_ne!(first, second);
}

#[tokio::test]
async fn axum_rejections_become_problems_keeping_their_headers() {
    let app = TestApp::start(api()).await;
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    problem(response, 405, "method_not_allowed").await;

    let body = problem(app.get("/things/not-a-number").await, 400, "bad_request").await;
    assert!(
        body["detail"].as_str().unwrap().contains("parse"),
        "the rejection text is the detail: {body}"
    );
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_published_with_its_request_id() {
    let app = TestApp::start(api()).await;
    let response = app
        .client
        .get(app.url("/panic"))
        .header("x-request-id", "panic-1")
        .send()
        .await
        .unwrap();
    let body = problem(response, 500, "internal_error").await;
    assert_eq!(body["title"], "Internal Server Error");
    assert!(!body.to_string().contains("kaboom"));

    let next = app.get("/things/2").await;
    assert_eq!(next.status(), 200, "the server keeps serving");

    let published = app.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, "panic-1");
    assert_eq!(published[0].1.message, "handler panicked: kaboom at the handler");
    assert_eq!(published[0].1.context.module.as_deref(), Some("http"));

    let errors = app.metrics.measurements("http.server.request.errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].label("http.response.status_code"),
        Some(&LabelValue::Int(500))
    );
    assert_eq!(
        errors[0].label("http.route"),
        Some(&LabelValue::Shared(Arc::from("/panic")))
    );
}

#[tokio::test]
async fn a_handler_cause_goes_to_the_error_bus_never_the_body() {
    let app = TestApp::start(api()).await;
    let response = app.get("/fail").await;
    let id = request_id(&response);
    let body = problem(response, 500, "internal_error").await;
    assert!(!body.to_string().contains("hunter2"));
    let published = app.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, id);
    assert_eq!(published[0].1.message, "database said: password=hunter2");
}

#[tokio::test]
async fn a_plain_5xx_body_is_replaced_by_a_generic_problem() {
    let app = TestApp::start(api()).await;
    let body = problem(app.get("/plain500").await, 500, "internal_error").await;
    assert!(!body.to_string().contains("secret"));
    assert!(app.published().is_empty(), "no cause was attached, nothing to publish");
}

#[tokio::test]
async fn a_slow_handler_times_out_as_a_504_problem() {
    let mut setup = Setup::new(api());
    setup.request_timeout = Duration::from_millis(100);
    let app = setup.spawn(Duration::from_secs(1)).await;

    let started = std::time::Instant::now();
    let body = problem(app.get("/slow").await, 504, "gateway_timeout").await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(body["instance"], "/slow");
    let errors = app.metrics.measurements("http.server.request.errors");
    assert_eq!(
        errors[0].label("http.response.status_code"),
        Some(&LabelValue::Int(504))
    );
}
