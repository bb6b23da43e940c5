//! RFC 9457 `application/problem+json` responses with a stable `code`.
//!
//! Every error the platform answers with has this one shape, so clients learn
//! it once and branch on `code`, never on `detail`. A 5xx body carries only the
//! code, the request id and a generic title: the cause goes to the log and the
//! error bus through [`ErrorCause`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use platform_ports::model::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

use crate::scope;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why a response failed, for the log and the error bus; never shown to the client.
///
/// Handlers attach it to a response (`(ErrorCause::new(err), Problem::internal())`
/// or [`Problem::with_cause`]); the middleware logs it and, for a 5xx, publishes it.
#[derive(Clone)]
pub struct ErrorCause(pub Arc<dyn std::error::Error + Send + Sync>);

impl ErrorCause {
    /// Wraps an error.
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(err))
    }
}

impl fmt::Debug for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorCause").field(&self.0).finish()
    }
}

impl fmt::Display for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl IntoResponseParts for ErrorCause {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// An RFC 9457 problem; build one with a status constructor and answer with it.
///
/// `request_id` and `instance` are filled in from the request being served
/// when the handler did not set them. Boxed so that `Result<T, Problem>`
/// stays one pointer wide on the happy path.
#[derive(Clone, Debug)]
#[must_use]
pub struct Problem(Box<Fields>);

#[derive(Clone, Debug)]
struct Fields {
    status: StatusCode,
    code: Cow<'static, str>,
    title: Cow<'static, str>,
    detail: Option<Cow<'static, str>>,
    instance: Option<String>,
    request_id: Option<Arc<str>>,
    errors: Vec<FieldError>,
    retry_after: Option<Duration>,
    cause: Option<ErrorCause>,
}

impl Problem {
    /// A problem with an explicit status, stable code and title.
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, title: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Fields {
            status,
            code: code.into(),
            title: title.into(),
            detail: None,
            instance: None,
            request_id: None,
            errors: Vec::new(),
            retry_after: None,
            cause: None,
        }))
    }

    /// The generic problem for a status: its stable code and standard title.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, title) = describe(status);
        Self::new(status, code, title)
    }

    /// 400: the request is malformed (code `bad_request`).
    pub fn bad_request(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::from_status(StatusCode::BAD_REQUEST).with_detail(detail)
    }

    /// 401: missing, invalid or expired credentials (code `unauthorized`).
    pub fn unauthorized(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::from_status(StatusCode::UNAUTHORIZED).with_detail(detail)
    }

    /// 403: authenticated but not permitted (code `forbidden`).
    pub fn forbidden(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::from_status(StatusCode::FORBIDDEN).with_detail(detail)
    }

    /// 404: nothing here, or nothing the caller may know about (code `not_found`).
    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::from_status(StatusCode::NOT_FOUND).with_detail(detail)
    }

    /// 409: a duplicate or an invalid state transition (code `conflict`).
    pub fn conflict(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::from_status(StatusCode::CONFLICT).with_detail(detail)
    }

    /// 422: well-formed but invalid, naming each field (code `validation_failed`).
    pub fn unprocessable(errors: ValidationErrors) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "Request validation failed",
        )
        .with_detail(errors.to_string())
        .with_errors(errors)
    }

    /// 429: rate-limited; `Retry-After` says when to come back (code `too_many_requests`).
    pub fn too_many_requests(retry_after: Duration) -> Self {
        Self::from_status(StatusCode::TOO_MANY_REQUESTS).with_retry_after(retry_after)
    }

    /// 503: a dependency is down (code `service_unavailable`), with
    /// `Retry-After` ([`Problem::DEPENDENCY_RETRY_AFTER`]): the adapters
    /// reconnect on their own, so a client may simply come back.
    pub fn service_unavailable() -> Self {
        Self::from_status(StatusCode::SERVICE_UNAVAILABLE).with_retry_after(Self::DEPENDENCY_RETRY_AFTER)
    }

    /// How long a client is told to wait after a dependency outage: about
    /// what a pool or the Redis fallback takes to try the server again.
    pub const DEPENDENCY_RETRY_AFTER: Duration = Duration::from_secs(5);

    /// 500: something failed that the client cannot fix (code `internal_error`).
    pub fn internal() -> Self {
        Self::from_status(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Replaces the stable code.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.0.code = code.into();
        self
    }

    /// Replaces the title (a 5xx body always shows the generic one).
    pub fn with_title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.0.title = title.into();
        self
    }

    /// Sets the human explanation (never shown in a 5xx body).
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Adds field errors (never shown in a 5xx body).
    pub fn with_errors(mut self, errors: ValidationErrors) -> Self {
        self.0.errors.extend(errors.0);
        self
    }

    /// Sets the path the problem is about (defaults to the request path).
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.0.instance = Some(instance.into());
        self
    }

    /// Sets the request id (defaults to the current request's).
    pub fn with_request_id(mut self, request_id: impl Into<Arc<str>>) -> Self {
        self.0.request_id = Some(request_id.into());
        self
    }

    /// Sets the `Retry-After` header, rounded up to whole seconds.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.0.retry_after = Some(retry_after);
        self
    }

    /// Attaches the cause for the log and the error bus (never for the body).
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.0.cause = Some(ErrorCause::new(cause));
        self
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The explanation, if any.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The field errors.
    #[must_use]
    pub fn errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    /// The body as JSON bytes; a 5xx hides its title, detail and field errors.
    #[must_use]
    pub fn to_json(&self) -> Bytes {
        let server_error = self.0.status.is_server_error();
        let wire = Wire {
            kind: "about:blank",
            title: if server_error {
                describe(self.0.status).1
            } else {
                &self.0.title
            },
            status: self.0.status.as_u16(),
            detail: if server_error { None } else { self.0.detail.as_deref() },
            instance: self.0.instance.as_deref(),
            code: &self.0.code,
            request_id: self.0.request_id.as_deref(),
            errors: if server_error { &[] } else { &self.0.errors },
        };
        // Serializing strings and numbers cannot fail; the fallback keeps the
        // response well-formed should that ever change.
        serde_json::to_vec(&wire).map_or_else(|_| Bytes::from_static(FALLBACK_BODY), Bytes::from)
    }
}

const FALLBACK_BODY: &[u8] =
    br#"{"type":"about:blank","title":"Internal Server Error","status":500,"code":"internal_error"}"#;

impl From<ValidationErrors> for Problem {
    fn from(errors: ValidationErrors) -> Self {
        Self::unprocessable(errors)
    }
}

impl IntoResponse for Problem {
    fn into_response(mut self) -> Response {
        let fields = &mut *self.0;
        if (fields.request_id.is_none() || fields.instance.is_none())
            && let Some((request_id, path)) = scope::current()
        {
            fields.request_id.get_or_insert(request_id);
            fields.instance.get_or_insert(path);
        }
        let mut response = (fields.status, self.to_json()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(after) = self.0.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = self.0.cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

/// An RFC 9457 problem (`application/problem+json`). Clients branch on
/// `code`, never on `title` or `detail`; a 5xx body carries only `type`,
/// `title`, `status`, `code`, `instance` and `request_id`.
///
/// The body's serialized form and its OpenAPI schema both come from here.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub(crate) struct Wire<'a> {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    kind: &'static str,
    /// A short summary for humans.
    #[schema(example = "Request validation failed")]
    title: &'a str,
    /// The HTTP status.
    #[schema(example = 422)]
    status: u16,
    /// A human explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/v1/auth/register")]
    instance: Option<&'a str>,
    /// The stable, documented error code.
    #[schema(example = "validation_failed")]
    code: &'a str,
    /// The request id, as echoed in `x-request-id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    /// One entry per invalid field (422 and `invalid_parameter`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<FieldErrorSchema>)]
    errors: &'a [FieldError],
}

/// One invalid field of a problem's `errors`.
#[derive(ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)] // only its schema is used: the wire type is the ports' `FieldError`
pub(crate) struct FieldErrorSchema {
    /// The field as the client sent it (`password`, `title`, `limit`).
    field: String,
    /// A stable code (`required`, `too_short`, `invalid`, `unknown_permission`).
    code: String,
    /// A message for humans.
    message: String,
}

/// The stable code and standard title of a status.
fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "Bad Request"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "Unauthorized"),
        StatusCode::FORBIDDEN => ("forbidden", "Forbidden"),
        StatusCode::NOT_FOUND => ("not_found", "Not Found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Method Not Allowed"),
        StatusCode::NOT_ACCEPTABLE => ("not_acceptable", "Not Acceptable"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "Request Timeout"),
        StatusCode::CONFLICT => ("conflict", "Conflict"),
        StatusCode::GONE => ("gone", "Gone"),
        StatusCode::LENGTH_REQUIRED => ("length_required", "Length Required"),
        StatusCode::PRECONDITION_FAILED => ("precondition_failed", "Precondition Failed"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "Payload Too Large"),
        StatusCode::URI_TOO_LONG => ("uri_too_long", "URI Too Long"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported Media Type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("validation_failed", "Request validation failed"),
        StatusCode::TOO_MANY_REQUESTS => ("too_many_requests", "Too Many Requests"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ("headers_too_large", "Request Header Fields Too Large"),
        StatusCode::INTERNAL_SERVER_ERROR => ("internal_error", "Internal Server Error"),
        StatusCode::NOT_IMPLEMENTED => ("not_implemented", "Not Implemented"),
        StatusCode::BAD_GATEWAY => ("bad_gateway", "Bad Gateway"),
        StatusCode::SERVICE_UNAVAILABLE => ("service_unavailable", "Service Unavailable"),
        StatusCode::GATEWAY_TIMEOUT => ("gateway_timeout", "Gateway Timeout"),
        s if s.is_server_error() => ("server_error", "Server Error"),
        _ => ("client_error", "Client Error"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn body(problem: &Problem) -> Value {
        serde_json::from_slice(&problem.to_json()).unwrap()
    }

    #[test]
    fn client_error_carries_detail_and_field_errors() {
        let errors = ValidationErrors(vec![FieldError::new(
            "password",
            "too_short",
            "must be at least 12 characters",
        )]);
        let problem = Problem::unprocessable(errors)
            .with_instance("/api/v1/auth/register")
            .with_request_id("r1");
        assert_eq!(
            body(&problem),
            json!({
                "type": "about:blank",
                "title": "Request validation failed",
                "status": 422,
                "detail": "password: must be at least 12 characters",
                "instance": "/api/v1/auth/register",
                "code": "validation_failed",
                "request_id": "r1",
                "errors": [{"field": "password", "code": "too_short", "message": "must be at least 12 characters"}]
            })
        );
    }

    #[test]
    fn server_error_hides_everything_internal() {
        let problem = Problem::internal()
            .with_title("database exploded")
            .with_detail("password=hunter2")
            .with_errors(FieldError::new("f", "c", "m").into())
            .with_request_id("r2");
        let json = body(&problem);
        assert_eq!(json["title"], "Internal Server Error");
        assert_eq!(json["code"], "internal_error");
        assert_eq!(json["request_id"], "r2");
        assert!(json.get("detail").is_none());
        assert!(json.get("errors").is_none());
    }

    #[test]
    fn too_many_requests_rounds_retry_after_up() {
        let response = Problem::too_many_requests(Duration::from_millis(1500)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
    }

    #[test]
    fn each_constructor_has_its_status_and_code() {
        let cases = [
            (Problem::bad_request("x"), 400, "bad_request"),
            (Problem::unauthorized("x"), 401, "unauthorized"),
            (Problem::forbidden("x"), 403, "forbidden"),
            (Problem::not_found("x"), 404, "not_found"),
            (Problem::conflict("x"), 409, "conflict"),
            (Problem::service_unavailable(), 503, "service_unavailable"),
            (Problem::internal(), 500, "internal_error"),
            (Problem::from_status(StatusCode::IM_A_TEAPOT), 418, "client_error"),
        ];
        for (problem, status, code) in cases {
            assert_eq!(problem.status().as_u16(), status);
            assert_eq!(problem.code(), code);
        }
    }

    #[test]
    fn a_dependency_outage_says_when_to_retry() {
        let response = Problem::service_unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
    }

    #[test]
    fn cause_travels_in_an_extension_not_the_body() {
        let response = Problem::internal()
            .with_cause(std::io::Error::other("disk on fire"))
            .into_response();
        let cause = response.extensions().get::<ErrorCause>().unwrap();
        assert_eq!(cause.to_string(), "disk on fire");
    }
}
