//! Path and query parameters whose bad values are 400 `invalid_parameter`
//! naming the parameter (axum's own extractors answer a bare `bad_request`).

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::{FromRequestParts, Path, Query};
use chrono::{DateTime, Utc};
use http::request::Parts;
use platform_ports::model::{FieldError, PageRequest};

use crate::problem::Problem;

/// 400 `invalid_parameter` naming the path or query parameter.
pub(crate) fn invalid_parameter(field: &str, message: impl Into<String>) -> Problem {
    let message = message.into();
    Problem::bad_request(format!("`{field}` {message}"))
        .with_code("invalid_parameter")
        .with_title("Invalid parameter")
        .with_errors(FieldError::new(field, "invalid", message).into())
}

/// The route's path parameters, by name.
#[derive(Debug)]
pub(crate) struct PathParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| Self(params))
            .map_err(|rejection| invalid_parameter("path", rejection.body_text()))
    }
}

impl PathParams {
    /// The parameter `name` parsed as a `T`.
    pub(crate) fn parse<T>(&self, name: &'static str) -> Result<T, Problem>
    where
        T: FromStr,
        T::Err: Display,
    {
        let raw = self
            .0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| Problem::internal().with_cause(MissingPathParam(name)))?;
        raw.parse()
            .map_err(|err| invalid_parameter(name, format!("is invalid: {err}")))
    }
}

/// A handler asked for a path parameter its route template does not have.
#[derive(Debug, thiserror::Error)]
#[error("the route has no path parameter `{0}`")]
struct MissingPathParam(&'static str);

/// The query string's parameters. Empty values count as absent, so a client
/// can send a form's blank filters as they are.
#[derive(Debug)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(params)| Self(params))
            .map_err(|rejection| invalid_parameter("query", rejection.body_text()))
    }
}

impl QueryParams {
    /// The parameter's text; a parameter given twice is refused rather than
    /// silently picking one of its values.
    pub(crate) fn text(&self, name: &str) -> Result<Option<&str>, Problem> {
        let mut values = self
            .0
            .iter()
            .filter(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(invalid_parameter(name, "is given more than once"));
        }
        Ok(first)
    }

    /// The parameter parsed as a `T`.
    pub(crate) fn parse<T>(&self, name: &str) -> Result<Option<T>, Problem>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.text(name)?
            .map(|raw| {
                raw.parse()
                    .map_err(|err| invalid_parameter(name, format!("is invalid: {err}")))
            })
            .transpose()
    }

    /// An RFC 3339 timestamp. A `+` offset sent unencoded arrives as a
    /// space (form encoding), so that reading is accepted too.
    pub(crate) fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
        self.text(name)?
            .map(|raw| {
                DateTime::parse_from_rfc3339(raw)
                    .or_else(|err| {
                        if raw.contains(' ') {
                            DateTime::parse_from_rfc3339(&raw.replace(' ', "+"))
                        } else {
                            Err(err)
                        }
                    })
                    .map(|at| at.with_timezone(&Utc))
                    .map_err(|err| invalid_parameter(name, format!("is not an RFC 3339 timestamp: {err}")))
            })
            .transpose()
    }

    /// `limit` and `cursor`: an unparsable limit is 400, one out of range 422.
    pub(crate) fn page(&self) -> Result<PageRequest, Problem> {
        let limit = self.parse::<u32>("limit")?;
        let cursor = self.text("cursor")?.map(str::to_owned);
        // An out-of-range value is a bad query parameter (400), like an unparsable one.
        PageRequest::new(limit, cursor).map_err(|e| invalid_parameter(&e.field, e.message))
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    fn query(raw: &str) -> QueryParams {
        let uri: http::Uri = format!("/x?{raw}").parse().unwrap();
        QueryParams(Query::try_from_uri(&uri).unwrap().0)
    }

    #[test]
    fn values_parse_or_name_the_parameter() {
        let q = query("verified=true&limit=10&email=&x=1&x=2");
        assert_eq!(q.parse::<bool>("verified").unwrap(), Some(true));
        assert_eq!(q.text("email").unwrap(), None);
        let problem = q.text("x").unwrap_err();
        assert_eq!(problem.code(), "invalid_parameter");
        assert_eq!(problem.errors()[0].field, "x");

        let problem = query("verified=maybe").parse::<bool>("verified").unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors()[0].field, "verified");
    }

    #[test]
    fn limits_are_400_when_unparsable_or_out_of_range() {
        assert_eq!(query("").page().unwrap(), PageRequest::default());
        let page = query("limit=200&cursor=abc").page().unwrap();
        assert_eq!((page.limit, page.cursor.as_deref()), (200, Some("abc")));

        let problem = query("limit=ten").page().unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.code(), "invalid_parameter");
        let problem = query("limit=-1").page().unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);

        let problem = query("limit=201").page().unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.code(), "invalid_parameter");
        assert_eq!(problem.errors()[0].field, "limit");
    }

    #[test]
    fn timestamps_are_rfc3339_with_any_offset() {
        let expected: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        for raw in [
            "2026-01-02T03:04:05Z",
            "2026-01-02T05:04:05%2B02:00",
            "2026-01-02T05:04:05+02:00",
        ] {
            assert_eq!(
                query(&format!("from={raw}")).timestamp("from").unwrap(),
                Some(expected),
                "{raw}"
            );
        }
        let problem = query("to=yesterday").timestamp("to").unwrap_err();
        assert_eq!(problem.code(), "invalid_parameter");
        assert_eq!(problem.errors()[0].field, "to");
    }
}
