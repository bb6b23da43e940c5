//! Graceful shutdown: in-flight requests drain, bounded by the drain timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tokio::sync::Notify;

use crate::support::Setup;

/// A route that says when it has started, then takes `hold` to answer.
fn holding(started: Arc<Notify>, hold: Duration) -> Router {
    Router::new().route(
        "/hold",
        get(move || {
            let started = Arc::clone(&started);
            async move {
                started.notify_one();
                tokio::time::sleep(hold).await;
                "held"
            }
        }),
    )
}

#[tokio::test]
async fn an_in_flight_request_completes_and_serve_reports_a_full_drain() {
    let started = Arc::new(Notify::new());
    let mut app = Setup::new(holding(Arc::clone(&started), Duration::from_millis(500)))
        .spawn(Duration::from_secs(5))
        .await;

    let request = tokio::spawn(app.client.get(app.url("/hold")).send());
    started.notified().await;
    app.stop();

    let response = request.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "held");
    let drained = tokio::time::timeout(Duration::from_secs(5), &mut app.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(drained, "every request finished within the drain timeout");
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn a_drain_timeout_shorter_than_the_handler_stops_promptly() {
    let started = Arc::new(Notify::new());
    let mut app = Setup::new(holding(Arc::clone(&started), Duration::from_secs(30)))
        .spawn(Duration::from_millis(200))
        .await;

    let _request = tokio::spawn(app.client.get(app.url("/hold")).send());
    started.notified().await;
    let stopping = Instant::now();
    app.stop();

    let drained = tokio::time::timeout(Duration::from_secs(5), &mut app.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!drained, "the timeout cut the drain short");
    let took = stopping.elapsed();
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "stopped after {took:?}"
    );
}

#[tokio::test]
async fn an_idle_server_stops_at_once() {
    let mut app = Setup::new(Router::new()).spawn(Duration::from_secs(5)).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let stopping = Instant::now();
    app.stop();
    let drained = tokio::time::timeout(Duration::from_secs(5), &mut app.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(drained);
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "an idle keep-alive connection does not hold shutdown"
    );
}
