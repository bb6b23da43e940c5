//! Operational endpoints: liveness, readiness and the metrics scrape.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use platform_ports::health::{CheckResult, HealthRegistry};
use platform_ports::metrics::Metrics;
use serde::Serialize;

use crate::middleware::KeepBody;
use crate::problem::Problem;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
/// The Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Probes and scrapes must see the live state, never a cached one.
const NO_STORE: (http::HeaderName, HeaderValue) = (CACHE_CONTROL, HeaderValue::from_static("no-store"));

#[derive(Clone)]
struct Ops {
    health: Arc<dyn HealthRegistry>,
    metrics: Arc<dyn Metrics>,
}

/// `/healthz`, `/ready` and `/metrics`.
pub(crate) fn router(health: Arc<dyn HealthRegistry>, metrics: Arc<dyn Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ready", get(ready))
        .route("/metrics", get(scrape))
        .with_state(Ops { health, metrics })
}

/// Liveness: the process answers; no dependency is asked.
async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, JSON), NO_STORE], r#"{"status":"ok"}"#)
}

#[derive(Serialize)]
struct Readiness<'a> {
    status: &'static str,
    checks: &'a BTreeMap<String, CheckResult>,
}

/// Readiness: every registered check; 503 while any is down.
async fn ready(State(ops): State<Ops>) -> Response {
    let report = ops.health.check().await;
    let (status, word) = if report.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    match serde_json::to_vec(&Readiness {
        status: word,
        checks: &report.checks,
    }) {
        Ok(body) => (status, [(CONTENT_TYPE, JSON), NO_STORE], Extension(KeepBody), body).into_response(),
        Err(err) => Problem::internal().with_cause(err).into_response(),
    }
}

/// The metrics scrape.
async fn scrape(State(ops): State<Ops>) -> Response {
    match ops.metrics.render() {
        Ok(text) => (
            [(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT)), NO_STORE],
            text,
        )
            .into_response(),
        Err(err) => Problem::internal().with_cause(err).into_response(),
    }
}
