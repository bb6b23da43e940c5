//! The request span and the access log line, as a JSON subscriber sees them.

use axum::Router;
use axum::routing::get;

use crate::support::{TestApp, logs};

async fn explode() -> &'static str {
    panic!("log me")
}

fn api() -> Router {
    Router::new()
        .route(
            "/things/{id}",
            get(|| async {
                tracing::info!("inside the handler");
                "ok"
            }),
        )
        .route("/panic", get(explode))
}

#[tokio::test]
async fn every_line_of_a_request_carries_the_request_span() {
    let app = TestApp::start(api()).await;

    let response = app
        .client
        .get(app.url("/things/9"))
        .header("x-request-id", "log-1")
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .get(app.url("/panic"))
        .header("x-request-id", "log-2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);

    let lines = logs().lines();
    let of = |id: &str| {
        lines
            .iter()
            .filter(|l| l["span"]["request_id"] == id)
            .cloned()
            .collect::<Vec<_>>()
    };

    let first = of("log-1");
    let handler = first
        .iter()
        .find(|l| l["fields"]["message"] == "inside the handler")
        .unwrap();
    assert_eq!(handler["span"]["route"], "/things/{id}");
    assert_eq!(handler["span"]["method"], "GET");
    assert_eq!(handler["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let access = first.iter().find(|l| l["target"] == "platform::http::access").unwrap();
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["fields"]["status"], 200);
    assert!(access["fields"]["latency_us"].is_u64());

    let second = of("log-2");
    let panic = second
        .iter()
        .find(|l| l["fields"]["message"] == "handler panicked")
        .unwrap();
    assert_eq!(panic["level"], "ERROR");
    assert_eq!(panic["fields"]["panic"], "log me");
    let access = second.iter().find(|l| l["target"] == "platform::http::access").unwrap();
    assert_eq!(access["level"], "WARN");
    assert_eq!(access["fields"]["status"], 500);
}
