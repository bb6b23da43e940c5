//! Path and query parameters whose bad values are 400 `invalid_parameter`
//! naming the parameter (axum's own extractors answer a bare `bad_request`).

use std::fmt::Display;
use std::str::FromStr;

use axum::extract::{FromRequestParts, Path, Query};
use chrono::{DateTime, Utc};
use http::request::Parts;
use platform_ports::model::{FieldError, PageRequest, TextKind, check_storable};

use crate::problem::Problem;

/// 400 `invalid_parameter` naming the path or query parameter.
pub(crate) fn invalid_parameter(field: &str, message: impl Into<String>) -> Problem {
    parameter_problem(FieldError::new(field, "invalid", message.into()))
}

/// 400 `invalid_parameter` carrying `error` (its field is the parameter).
fn parameter_problem(error: FieldError) -> Problem {
    Problem::bad_request(format!("`{}` {}", error.field, error.message))
        .with_code("invalid_parameter")
        .with_title("Invalid parameter")
        .with_errors(error.into())
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

/// The query string's parameters.
///
/// One rule for every list route: a parameter is either absent or has a
/// value. An empty value (`?author=`) is 400 `invalid_parameter` (code
/// `empty`) naming it, rather than silently filtering nothing: a client that
/// meant to filter learns its filter was lost. A value with a control
/// character (U+0000 first: PostgreSQL cannot even compare it) is 400 too
/// (code `invalid_character`), so every adapter answers alike.
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
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(invalid_parameter(name, "is given more than once"));
        }
        if let Some(value) = first {
            if value.is_empty() {
                return Err(parameter_problem(FieldError::new(
                    name,
                    "empty",
                    "must not be empty (leave the parameter out to not filter)",
                )));
            }
            check_storable(name, value, TextKind::SingleLine).map_err(parameter_problem)?;
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
        let q = query("verified=true&limit=10&x=1&x=2");
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
    fn empty_values_are_400_naming_the_parameter() {
        for raw in ["author=", "to=", "role_id=", "email=&email=x"] {
            let name = raw.split('=').next().unwrap();
            let problem = query(raw).text(name).unwrap_err();
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{raw}");
            assert_eq!(problem.code(), "invalid_parameter");
            assert_eq!(problem.errors()[0].field, name);
        }
        let problem = query("author=").parse::<uuid::Uuid>("author").unwrap_err();
        assert_eq!(problem.errors()[0].code, "empty");
        assert!(query("to=").timestamp("to").is_err());
        assert!(query("cursor=").page().is_err());
    }

    #[test]
    fn control_characters_are_400_naming_the_parameter() {
        for raw in ["email=a%00b", "action=a%01", "tag=x%0Ay"] {
            let name = raw.split('=').next().unwrap();
            let problem = query(raw).text(name).unwrap_err();
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST, "{raw}");
            assert_eq!(
                (problem.errors()[0].field.as_str(), problem.errors()[0].code.as_str()),
                (name, "invalid_character")
            );
        }
        assert_eq!(query("email=%C3%A9t%C3%A9").text("email").unwrap(), Some("été"));
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
