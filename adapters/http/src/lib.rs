//! The driving HTTP adapter: the axum router with the operational endpoints,
//! the middleware stack every request goes through, problem+json errors and
//! the server with graceful shutdown.
//!
//! Bootstrap calls [`build_router`] with the feature modules' routes, each
//! built at the mount its manifest names ([`security_routes`] at `/api/v1`,
//! [`blog_routes`] at `/api/v1/blog`, [`jobs_routes`] at `/api/v1/jobs`, [`files_routes`] at `/api/v1`), and serves the result with
//! [`HttpServer`]. Every route is documented ([`openapi`]), served at
//! `/openapi.json` and browsable offline at `/docs`. Handlers answer errors
//! with [`Problem`], read bodies with [`AppJson`] and the caller with
//! [`Ctx`]; each module's route table states once who may call each route,
//! which becomes both its guard ([`require_authenticated`],
//! [`require_permission`]) and its documented access rule.

pub mod extract;
pub mod problem;

mod blog;
mod files;
mod jobs;
mod list;
mod middleware;
mod module;
mod openapi;
mod ops;
mod params;
mod scope;
mod security;
mod server;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use platform_ports::auth::Authenticator;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::health::HealthRegistry;
use platform_ports::identity::ApiKeyService;
use platform_ports::metrics::Metrics;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

pub use blog::{BlogDeps, blog_routes};
pub use extract::{AppJson, Ctx};
pub use files::{FilesDeps, files_routes};
pub use jobs::{JobsDeps, jobs_routes};
pub use module::ModuleRoutes;
pub use openapi::openapi;
pub use problem::{ErrorCause, Problem};
pub use security::{Require, RequireService, SecurityDeps, require_authenticated, require_permission, security_routes};
pub use server::HttpServer;
pub use webhooks::{WebhookDeps, webhook_routes};

/// Where and how the server listens.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Host name or address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Longest a request may take before it is answered 504.
    pub request_timeout: Duration,
    /// Longest in-flight requests may drain at shutdown.
    pub shutdown_timeout: Duration,
    /// Largest request body an extractor accepts; larger is 413.
    pub max_body_bytes: usize,
}

/// The ports the operational endpoints and the middleware use.
#[derive(Clone)]
pub struct OperationalDeps {
    /// Runs the readiness checks.
    pub health: Arc<dyn HealthRegistry>,
    /// Creates the HTTP instruments and renders `/metrics`.
    pub metrics: Arc<dyn Metrics>,
    /// Receives panics and 5xx causes.
    pub errors: Arc<dyn ErrorPublisher>,
    /// Verifies bearer tokens into the request context's actor; `None`
    /// leaves every request anonymous.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Authenticates API keys (`Authorization: Bearer plt_…`, `X-API-Key`);
    /// `None` treats them as invalid bearer tokens.
    pub api_keys: Option<Arc<dyn ApiKeyService>>,
    /// Set when traces are exported: links each request span to the
    /// caller's `traceparent` and answers the span's trace and span ids.
    pub trace_context: Option<TraceContext>,
}

/// Makes the headers' W3C trace context (`traceparent`) the parent of the
/// request span and returns the span's (trace id, span id) as hex; `None`
/// when the span is not traced. Bootstrap supplies it from the telemetry
/// adapter, so this adapter stays free of OpenTelemetry.
pub type TraceContext = Arc<dyn Fn(&tracing::Span, &http::HeaderMap) -> Option<(String, String)> + Send + Sync>;

/// The full router: operational endpoints (with `/openapi.json` serving
/// their documentation and the modules', and `/docs`) + the feature
/// modules' routes, wrapped in the middleware stack.
///
/// Outermost first: request id, caller identity (bearer token or
/// `x-tenant-id`), request span and access log, metrics and problem
/// conversion (one service), panic catching, the request timeout and
/// the body limit. An unknown path is a 404 problem. Routes added to the
/// returned router afterwards bypass the middleware: pass them in `modules`.
pub fn build_router(
    deps: &OperationalDeps,
    settings: &HttpSettings,
    modules: impl IntoIterator<Item = ModuleRoutes>,
) -> Router {
    let api = modules.into_iter().fold(ModuleRoutes::default(), ModuleRoutes::merge);
    let observe = middleware::Observe::new(
        deps.metrics.as_ref(),
        Arc::clone(&deps.errors),
        deps.authenticator.clone(),
        deps.trace_context.clone(),
    )
    .with_api_keys(deps.api_keys.clone());
    let stack = ServiceBuilder::new()
        .layer(middleware::ObserveLayer::new(observe))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(middleware::TimeoutLayer(settings.request_timeout))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes));
    ops::router(Arc::clone(&deps.health), Arc::clone(&deps.metrics))
        .merge(openapi::router(&openapi::openapi(api.openapi)))
        .merge(api.router)
        .fallback(not_found)
        .layer(stack)
}

async fn not_found() -> Problem {
    Problem::not_found("nothing is served at this path")
}
