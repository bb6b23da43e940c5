//! Operational endpoints: liveness, readiness and the metrics scrape.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use platform_ports::health::{CheckResult, CheckState, HealthRegistry};
use platform_ports::metrics::Metrics;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::middleware::KeepBody;
use crate::openapi::components::InternalError;
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

/// The operational endpoints' documentation.
#[derive(OpenApi)]
#[openapi(paths(healthz, ready, scrape))]
pub(crate) struct OpsApi;

/// `/healthz`, `/ready` and `/metrics`.
pub(crate) fn router(health: Arc<dyn HealthRegistry>, metrics: Arc<dyn Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ready", get(ready))
        .route("/metrics", get(scrape))
        .with_state(Ops { health, metrics })
}

/// `{"status": "ok"}`.
#[derive(Serialize, ToSchema)]
struct Liveness {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// Liveness: the process answers.
///
/// No dependency is asked, so an orchestrator restarts the process only
/// when it is itself stuck.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operational",
    responses((status = 200, description = "The process is alive.", body = Liveness))
)]
async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, JSON), NO_STORE], r#"{"status":"ok"}"#)
}

/// Every readiness check's result.
#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ready`, or `not_ready` while any check is down.
    #[schema(example = "ready")]
    status: &'static str,
    /// By check name.
    checks: BTreeMap<String, CheckView>,
}

/// One readiness check's result.
#[derive(Serialize, ToSchema)]
#[schema(as = CheckResult)]
struct CheckView {
    status: CheckStateView,
    /// Why it is degraded or down.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// How long the check took, in milliseconds.
    duration_ms: u64,
}

/// A check's state; `degraded` still serves (through a fallback).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CheckState)]
enum CheckStateView {
    Up,
    Degraded,
    Down,
}

impl From<&CheckResult> for CheckView {
    fn from(result: &CheckResult) -> Self {
        Self {
            // Exhaustive, so a new state cannot reach the wire undocumented.
            status: match result.status {
                CheckState::Up => CheckStateView::Up,
                CheckState::Degraded => CheckStateView::Degraded,
                CheckState::Down => CheckStateView::Down,
            },
            message: result.message.clone(),
            duration_ms: result.duration_ms,
        }
    }
}

/// Readiness: every registered check.
///
/// 503 while any check is down; a degraded check still counts as ready.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operational",
    responses(
        (status = 200, description = "Every check is up or degraded.", body = Readiness),
        (status = 503, description = "A check is down (same body, `status: not_ready`).", body = Readiness),
    )
)]
async fn ready(State(ops): State<Ops>) -> Response {
    let report = ops.health.check().await;
    let (status, word) = if report.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let readiness = Readiness {
        status: word,
        checks: report
            .checks
            .iter()
            .map(|(name, result)| (name.clone(), CheckView::from(result)))
            .collect(),
    };
    match serde_json::to_vec(&readiness) {
        Ok(body) => (status, [(CONTENT_TYPE, JSON), NO_STORE], Extension(KeepBody), body).into_response(),
        Err(err) => Problem::internal().with_cause(err).into_response(),
    }
}

/// The metrics scrape, in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operational",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 500, response = InternalError),
    )
)]
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
