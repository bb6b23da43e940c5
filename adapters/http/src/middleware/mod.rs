//! The outer middleware: request id, caller identity, request span, metrics,
//! problem conversion and error reporting, in one service so a request pays
//! for one boxed future instead of one per concern.

mod auth;
mod context;
mod errors;
mod request_id;
mod telemetry;
mod timeout;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::BoxError;
use axum::body::{Body, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use bytes::Bytes;
use platform_ports::auth::Authenticator;
use platform_ports::error_bus::ErrorPublisher;
use platform_ports::identity::ApiKeyService;
use platform_ports::metrics::Metrics;
use platform_ports::model::RequestContext;
use tower::{Layer, Service};
use tracing::Instrument;

pub(crate) use auth::{AuthState, Caller, InvalidTenant};
pub(crate) use errors::{KeepBody, panic_response};
pub(crate) use timeout::TimeoutLayer;

use crate::scope::{self, RequestScope};
use request_id::{RequestIds, X_REQUEST_ID};
use telemetry::{HttpMetrics, method_label};

/// What the middleware shares across requests; built once per router.
pub(crate) struct Observe {
    ids: RequestIds,
    metrics: HttpMetrics,
    errors: Arc<dyn ErrorPublisher>,
    authenticator: Option<Arc<dyn Authenticator>>,
    api_keys: Option<Arc<dyn ApiKeyService>>,
    trace_context: Option<crate::TraceContext>,
}

impl Observe {
    /// Creates the instruments and the id generator.
    pub(crate) fn new(
        metrics: &dyn Metrics,
        errors: Arc<dyn ErrorPublisher>,
        authenticator: Option<Arc<dyn Authenticator>>,
        trace_context: Option<crate::TraceContext>,
    ) -> Self {
        Self {
            ids: RequestIds::new(),
            metrics: HttpMetrics::new(metrics),
            errors,
            authenticator,
            api_keys: None,
            trace_context,
        }
    }

    /// Authenticates `plt_…` bearer tokens and `X-API-Key` headers with `keys`.
    pub(crate) fn with_api_keys(mut self, keys: Option<Arc<dyn ApiKeyService>>) -> Self {
        self.api_keys = keys;
        self
    }
}

/// Applies [`ObserveService`].
#[derive(Clone)]
pub(crate) struct ObserveLayer(Arc<Observe>);

impl ObserveLayer {
    /// A layer sharing `observe` between every route it wraps.
    pub(crate) fn new(observe: Observe) -> Self {
        Self(Arc::new(observe))
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ObserveService {
            inner,
            observe: Arc::clone(&self.0),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub(crate) struct ObserveService<S> {
    inner: S,
    observe: Arc<Observe>,
}

impl<S, B> Service<Request> for ObserveService<S>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let started = Instant::now();
        let observe = Arc::clone(&self.observe);
        let (request_id, echo) = observe.ids.assign(req.headers_mut());
        let mut ctx = context::request_context(&req, Arc::clone(&request_id));
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        // An API key needs a lookup (cache, maybe the database), so it is
        // checked inside the future; a JWT keeps its synchronous path.
        if let Some(keys) = &observe.api_keys
            && let Some(key) = auth::api_key(req.headers())
        {
            let (keys, key) = (Arc::clone(keys), key.to_owned());
            return Box::pin(async move {
                let identity = auth::identify_api_key(&key, keys.as_ref(), &mut ctx).await;
                serve(observe, inner, req, ctx, identity, (request_id, echo), started).await
            });
        }
        // Here rather than in a route layer: the error reports this service
        // publishes must name the actor too.
        let identity = auth::identify(req.headers(), observe.authenticator.as_deref(), &mut ctx);
        serve(observe, inner, req, ctx, identity, (request_id, echo), started)
    }
}

/// Serves an identified request: its span, the inner service, problem
/// conversion, metrics and the access log.
fn serve<S, B>(
    observe: Arc<Observe>,
    mut inner: S,
    mut req: Request,
    mut ctx: RequestContext,
    identity: auth::Identity,
    (request_id, echo): (Arc<str>, http::HeaderValue),
    started: Instant,
) -> Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|path| observe.metrics.route(path.as_str()));
    // Ids rendered on the stack and given to the span at creation: one
    // rendering of the span's fields instead of a second pass to record them.
    let mut user_buf = uuid::Uuid::encode_buffer();
    let user_id = ctx.user_id().map(|id| &*id.0.hyphenated().encode_lower(&mut user_buf));
    let mut tenant_buf = uuid::Uuid::encode_buffer();
    let tenant_id = identity
        .tenant_named
        .then(|| &*ctx.tenant_id.0.hyphenated().encode_lower(&mut tenant_buf));
    let span = match &observe.trace_context {
        // Export off: the span carries only what the log lines need.
        None => tracing::info_span!(
            "request",
            request_id = &*request_id,
            method = req.method().as_str(),
            route = route.as_deref(),
            trace_id = ctx.trace_id.as_deref(),
            user_id,
            tenant_id,
        ),
        Some(link) => {
            let span = traced_span(&req, route.as_deref(), &request_id, user_id, tenant_id);
            if let Some((trace_id, span_id)) = link(&span, req.headers()) {
                span.record("trace_id", trace_id.as_str());
                span.record("span_id", span_id.as_str());
                // Error reports name the trace even when the caller sent none.
                ctx.trace_id = Some(Arc::from(trace_id));
            }
            span
        }
    };
    let traced = observe.trace_context.is_some();
    let ctx = Arc::new(ctx);
    req.extensions_mut().insert(Caller {
        state: identity.state,
        invalid_tenant: identity.invalid_tenant,
        ctx: Arc::clone(&ctx),
    });
    let uri = req.uri().clone();
    let scope = RequestScope {
        request_id,
        uri: uri.clone(),
    };
    Box::pin(
        async move {
            let response = match scope::run(scope, async move { inner.call(req).await }).await {
                Ok(response) => response.map(Body::new),
                Err(never) => match never {},
            };
            let mut response = errors::settle(response, &observe.errors, &ctx, uri.path()).await;
            response.headers_mut().insert(X_REQUEST_ID, echo);
            let elapsed = started.elapsed();
            let status = response.status();
            if traced {
                record_status(status);
            }
            observe.metrics.record(method, route, status, elapsed);
            access_log(status, elapsed);
            Ok(response)
        }
        .instrument(span),
    )
}

/// The server span OpenTelemetry exports: named `{method} {route}` with the
/// HTTP semantic-convention attributes; ids filled in once it is linked.
fn traced_span(
    req: &Request,
    route: Option<&str>,
    request_id: &str,
    user_id: Option<&str>,
    tenant_id: Option<&str>,
) -> tracing::Span {
    let method = req.method().as_str();
    let name = match route {
        Some(route) => format!("{method} {route}"),
        None => method.to_owned(),
    };
    tracing::info_span!(
        "request",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        request_id,
        method,
        route,
        http.request.method = method,
        http.route = route,
        url.path = req.uri().path(),
        url.scheme = req.uri().scheme_str().unwrap_or("http"),
        http.response.status_code = tracing::field::Empty,
        user_agent.original = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
        user_id,
        tenant_id,
    )
}

/// The response status on the (traced) request span; a 5xx marks it an error.
fn record_status(status: http::StatusCode) {
    let span = tracing::Span::current();
    span.record("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

/// The one line per request, inside the request span.
fn access_log(status: http::StatusCode, elapsed: Duration) {
    let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    let status = status.as_u16();
    if status >= 500 {
        tracing::warn!(target: "platform::http::access", status, latency_us, "request");
    } else {
        tracing::info!(target: "platform::http::access", status, latency_us, "request");
    }
}
