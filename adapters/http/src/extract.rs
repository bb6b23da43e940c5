//! Extractors whose rejections are problem+json: [`AppJson`] and [`Ctx`].

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use platform_ports::model::{FieldError, RequestContext, ValidationErrors};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::middleware::{Caller, InvalidTenant};
use crate::problem::Problem;

/// A JSON body in, or a JSON body out, with problem+json rejections.
///
/// Malformed JSON or a missing JSON content type is 400 `malformed_body`; a
/// body over the size limit is 413 `payload_too_large`; JSON of the wrong shape
/// is 422 `validation_failed` naming the field. Every request body of the API
/// is a JSON object: an array or a scalar is 422 on field `body`, because
/// serde would otherwise read `["t","c"]` as a struct's fields in order.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(malformed("expected a `Content-Type: application/json` body"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE).with_detail(rejection.body_text())
            } else {
                malformed(rejection.body_text())
            }
        })?;
        parse(&bytes).map(Self)
    }
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        // Sized for a typical resource (a post is ~850 bytes): `to_vec` starts
        // at 128 bytes and regrows three times on the way. Just under 1 KiB on
        // purpose: glibc serves requests of 1 KiB and more from its large bins
        // and consolidates its fast bins first, on every such allocation.
        let mut body = Vec::with_capacity(1000);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response(),
            Err(err) => Problem::internal().with_cause(err).into_response(),
        }
    }
}

/// Deserializes `bytes`, telling syntax errors (400) from shape errors (422).
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    // Anything but an object is refused before serde sees it. Broken JSON
    // stays a syntax error (400) whatever it starts with.
    if !matches!(bytes.iter().find(|b| !b.is_ascii_whitespace()), None | Some(b'{')) {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(err) => malformed_json(&err),
            Ok(_) => Problem::unprocessable(ValidationErrors::from(FieldError::new(
                "body",
                "invalid",
                "must be a JSON object",
            ))),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut de) {
        // Trailing garbage after the value is malformed too.
        Ok(value) => de.end().map(|()| value).map_err(|err| malformed_json(&err)),
        Err(err) if err.inner().classify() == serde_json::error::Category::Data => {
            Err(Problem::unprocessable(ValidationErrors::from(field_error(&err))))
        }
        Err(err) => Err(malformed_json(err.inner())),
    }
}

fn malformed_json(err: &serde_json::Error) -> Problem {
    malformed(format!("malformed JSON: {err}"))
}

/// Names the field a data error is about, as precisely as serde reports it.
fn field_error(err: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let message = strip_position(&err.inner().to_string());
    let path = err.path().to_string();
    let parent = if path == "." { "" } else { path.as_str() };
    let named = |prefix: &str| message.strip_prefix(prefix).and_then(|rest| rest.split('`').nth(1));
    let (field, code) = if let Some(name) = named("missing field") {
        (join(parent, name), "required")
    } else if let Some(name) = named("unknown field") {
        // Here the path already ends at the unknown key itself.
        (
            if parent.is_empty() {
                name.to_owned()
            } else {
                parent.to_owned()
            },
            "unknown_field",
        )
    } else {
        (
            if parent.is_empty() {
                "body".to_owned()
            } else {
                parent.to_owned()
            },
            "invalid",
        )
    };
    FieldError::new(field, code, message)
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// serde_json appends " at line L column C", which means nothing to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn malformed(detail: impl Into<std::borrow::Cow<'static, str>>) -> Problem {
    Problem::bad_request(detail)
        .with_code("malformed_body")
        .with_title("Malformed request body")
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The [`RequestContext`] of the request being served, built by the middleware:
/// the token's actor and tenant, or the tenant named by `x-tenant-id`.
///
/// Rejects with 400 `invalid_tenant` when an unauthenticated caller named a
/// tenant that is not a UUID: the handler would otherwise act in the wrong one.
#[derive(Clone, Debug)]
pub struct Ctx(pub Arc<RequestContext>);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or_else(|| Problem::internal().with_cause(MissingContext))?;
        if let Some(InvalidTenant(reason)) = &caller.invalid_tenant {
            return Err(Problem::bad_request(format!("`x-tenant-id` {reason}"))
                .with_code("invalid_tenant")
                .with_title("Invalid tenant"));
        }
        Ok(Self(Arc::clone(&caller.ctx)))
    }
}

/// A handler asked for the request context on a router not built by `build_router`.
#[derive(Debug, thiserror::Error)]
#[error("no request context: the router was not built by platform_adapter_http::build_router")]
pub(crate) struct MissingContext;

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Post {
        title: String,
        author: Author,
        tags: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Author {
        name: String,
    }

    fn reject(body: &str) -> Problem {
        parse::<Post>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn syntax_errors_are_malformed() {
        let valid = r#"{"title": "t", "author": {"name": "a"}, "tags": []}"#;
        for body in ["{", "{\"title\": }", "", &format!("{valid} trailing")] {
            let problem = reject(body);
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(problem.code(), "malformed_body");
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_422() {
        for body in [
            r#"["t", {"name": "a"}, []]"#,
            "[null,null]",
            "3",
            "\"s\"",
            " true",
            "null",
        ] {
            let problem = reject(body);
            assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(
                (problem.errors()[0].field.as_str(), problem.errors()[0].code.as_str()),
                ("body", "invalid")
            );
        }
        // Broken JSON stays a syntax error, whatever it starts with.
        assert_eq!(reject("[1,").status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn missing_field_is_required() {
        let problem = reject(r#"{"author": {"name": "a"}, "tags": []}"#);
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.code(), "validation_failed");
        assert_eq!(problem.errors()[0].field, "title");
        assert_eq!(problem.errors()[0].code, "required");
    }

    #[test]
    fn nested_and_indexed_fields_are_named() {
        let problem = reject(r#"{"title": "t", "author": {}, "tags": []}"#);
        assert_eq!(problem.errors()[0].field, "author.name");

        let problem = reject(r#"{"title": "t", "author": {"name": "a"}, "tags": ["x", 3]}"#);
        assert_eq!(problem.errors()[0].field, "tags[1]");
        assert_eq!(problem.errors()[0].code, "invalid");
        assert!(
            !problem.errors()[0].message.contains("line"),
            "{}",
            problem.errors()[0].message
        );
    }

    #[test]
    fn unknown_and_mistyped_fields() {
        let problem = reject(r#"{"title": "t", "author": {"name": "a"}, "tags": [], "x": 1}"#);
        assert_eq!(problem.errors()[0].field, "x");
        assert_eq!(problem.errors()[0].code, "unknown_field");
        assert!(parse::<Post>(r#"{"title": "t", "author": {"name": "a"}, "tags": []}"#.as_bytes()).is_ok());

        let problem = reject(r#"{"title": 5}"#);
        assert_eq!(problem.errors()[0].field, "title");
        assert_eq!(problem.errors()[0].code, "invalid");

        let problem = reject(r#""just a string""#);
        assert_eq!(problem.errors()[0].field, "body");
    }

    #[test]
    fn recognises_json_content_types() {
        let check = |ct: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_json(&headers)
        };
        assert!(check("application/json"));
        assert!(check("Application/JSON; charset=utf-8"));
        assert!(check("application/merge-patch+json"));
        assert!(!check("text/plain"));
        assert!(!check("application/jsonx"));
        assert!(!check("application/+json"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
