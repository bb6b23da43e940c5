//! Error responses: every status >= 400 leaves as problem+json, every 401
//! names the `Bearer` challenge, and every server-side failure (a panic, an
//! [`ErrorCause`]) reaches the log and the error bus with the request's context.

use std::any::Any;
use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::model::RequestContext;

use crate::problem::{ErrorCause, PROBLEM_JSON, Problem};

/// Largest plain-text 4xx body (an axum rejection message) kept as `detail`.
const MAX_DETAIL: u64 = 512;

/// Marks an error response whose body is deliberately not problem+json
/// (the readiness document).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeepBody;

/// Marks the response built for a panic, carrying the panic message to the
/// middleware that knows the request context.
#[derive(Clone, Debug)]
struct Panicked(Arc<str>);

/// The response for a panicking handler: a 500 problem, plus the message for
/// [`settle`] to report.
pub(crate) fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message: Arc<str> = if let Some(s) = payload.downcast_ref::<String>() {
        Arc::from(s.as_str())
    } else if let Some(s) = payload.downcast_ref::<&'static str>() {
        Arc::from(*s)
    } else {
        Arc::from("panic with a non-string payload")
    };
    let mut response = Problem::internal().into_response();
    response.extensions_mut().insert(Panicked(message));
    response
}

/// Reports the failure a response carries and makes its body problem+json.
pub(crate) async fn settle(
    mut response: Response,
    errors: &Arc<dyn ErrorPublisher>,
    ctx: &RequestContext,
    path: &str,
) -> Response {
    let status = response.status();
    let extensions = response.extensions_mut();
    let panicked = extensions.remove::<Panicked>();
    let cause = extensions.remove::<ErrorCause>();
    let keep_body = extensions.remove::<KeepBody>().is_some();

    if let Some(Panicked(message)) = panicked {
        tracing::error!(panic = &*message, "handler panicked");
        let report = ErrorReport::message(format!("handler panicked: {message}")).in_module("http");
        errors.publish_with_context(ctx, report);
    }
    if let Some(ErrorCause(cause)) = cause {
        if status.is_server_error() {
            tracing::error!(error = &*cause, "request failed");
            errors.publish_with_context(ctx, ErrorReport::from_error(&*cause).in_module("http"));
        } else {
            tracing::debug!(error = &*cause, "request rejected");
        }
    }

    let failed = status.is_client_error() || status.is_server_error();
    if failed && !keep_body && !is_problem(response.headers()) {
        response = to_problem(response, ctx, path).await;
    }
    // RFC 9110 requires the challenge on every 401, and bearer tokens are the
    // platform's only scheme: one place, so no handler can forget it.
    if status == StatusCode::UNAUTHORIZED && !response.headers().contains_key(WWW_AUTHENTICATE) {
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// Replaces the body with a problem of the same status, keeping the headers
/// that still apply (`Allow`, `WWW-Authenticate`, `Retry-After`...).
async fn to_problem(response: Response, ctx: &RequestContext, path: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let mut problem = Problem::from_status(parts.status)
        .with_request_id(Arc::clone(&ctx.request_id))
        .with_instance(path);
    // axum's rejections explain themselves in a short text body; a client
    // error may say why, a server error never does.
    if parts.status.is_client_error()
        && is_short_text(&parts.headers, &body)
        && let Ok(text) = axum::body::to_bytes(body, MAX_DETAIL as usize).await
    {
        let text = String::from_utf8_lossy(&text).trim().to_owned();
        if !text.is_empty() {
            problem = problem.with_detail(text);
        }
    }
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, Body::from(problem.to_json()))
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

fn is_short_text(headers: &HeaderMap, body: &Body) -> bool {
    let text = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    text && body.size_hint().exact().is_some_and(|len| len <= MAX_DETAIL)
}

#[cfg(test)]
mod tests {
    use platform_ports::error_bus::MockErrorPublisher;
    use serde_json::Value;

    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::system("rid-1")
    }

    fn quiet() -> Arc<dyn ErrorPublisher> {
        Arc::new(MockErrorPublisher::new())
    }

    async fn json(response: Response) -> Value {
        let bytes = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn plain_text_rejection_becomes_a_problem_with_its_text() {
        let original = (StatusCode::BAD_REQUEST, "Invalid URL: bad id").into_response();
        let response = settle(original, &quiet(), &ctx(), "/things/x").await;
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let body = json(response).await;
        assert_eq!(body["code"], "bad_request");
        assert_eq!(body["detail"], "Invalid URL: bad id");
        assert_eq!(body["instance"], "/things/x");
        assert_eq!(body["request_id"], "rid-1");
    }

    #[tokio::test]
    async fn server_error_text_is_never_shown_and_headers_survive() {
        let original = (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "5")], "db password=x").into_response();
        let response = settle(original, &quiet(), &ctx(), "/").await;
        assert_eq!(response.headers()["retry-after"], "5");
        let body = json(response).await;
        assert_eq!(body["code"], "service_unavailable");
        assert!(!body.to_string().contains("password"));
    }

    #[tokio::test]
    async fn every_401_carries_the_bearer_challenge() {
        let bare = Problem::unauthorized("no").into_response();
        let response = settle(bare, &quiet(), &ctx(), "/").await;
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");

        let own = (
            StatusCode::UNAUTHORIZED,
            [(WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#)],
        )
            .into_response();
        let response = settle(own, &quiet(), &ctx(), "/").await;
        assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#);

        let forbidden = Problem::forbidden("no").into_response();
        let response = settle(forbidden, &quiet(), &ctx(), "/").await;
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn kept_bodies_and_problems_pass_through() {
        let mut kept = (StatusCode::SERVICE_UNAVAILABLE, "{}").into_response();
        kept.extensions_mut().insert(KeepBody);
        let response = settle(kept, &quiet(), &ctx(), "/ready").await;
        assert_eq!(axum::body::to_bytes(response.into_body(), 64).await.unwrap(), "{}");

        let problem = Problem::conflict("taken").with_request_id("mine").into_response();
        let body = json(settle(problem, &quiet(), &ctx(), "/").await).await;
        assert_eq!(body["request_id"], "mine");
        assert_eq!(body["detail"], "taken");
    }

    #[tokio::test]
    async fn panics_and_causes_are_published_with_the_context() {
        let mut publisher = MockErrorPublisher::new();
        publisher
            .expect_publish_with_context()
            .withf(|ctx, report| &*ctx.request_id == "rid-1" && report.message == "handler panicked: boom")
            .times(1)
            .return_const(());
        publisher
            .expect_publish_with_context()
            .withf(|_, report| report.message == "disk on fire" && report.context.module.as_deref() == Some("http"))
            .times(1)
            .return_const(());
        let errors: Arc<dyn ErrorPublisher> = Arc::new(publisher);

        let panicked = panic_response(Box::new("boom"));
        assert_eq!(
            settle(panicked, &errors, &ctx(), "/").await.status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );

        let failed = Problem::internal()
            .with_cause(std::io::Error::other("disk on fire"))
            .into_response();
        let body = json(settle(failed, &errors, &ctx(), "/").await).await;
        assert!(!body.to_string().contains("disk"));

        // A cause on a client error is only logged at debug level.
        let rejected = Problem::bad_request("no")
            .with_cause(std::io::Error::other("why"))
            .into_response();
        settle(rejected, &errors, &ctx(), "/").await;
    }
}
