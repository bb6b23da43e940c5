//! The blog port's errors as problems.

use platform_ports::blog::BlogError;

use crate::blog::perm;
use crate::problem::Problem;
use crate::security::errors::unauthorized;

/// Every blog use case's error.
pub(crate) fn blog(err: BlogError) -> Problem {
    match err {
        BlogError::Validation(errors) => Problem::unprocessable(errors),
        BlogError::NotFound => Problem::not_found("no such post"),
        BlogError::Forbidden => Problem::forbidden(format!(
            "you may not do this to this post (another author's post needs `{}`)",
            perm::POST_MANAGE
        )),
        BlogError::Unauthenticated => unauthorized(),
        BlogError::InvalidTransition { from, to } => Problem::conflict(format!("cannot go from {from} to {to}"))
            .with_code("invalid_transition")
            .with_title("Invalid status transition"),
        BlogError::File(err) => crate::files::errors::files(err),
        err @ BlogError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;
    use http::StatusCode;
    use platform_ports::blog::PostStatus;
    use platform_ports::model::FieldError;

    use super::*;
    use crate::problem::ErrorCause;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (blog(BlogError::NotFound), StatusCode::NOT_FOUND, "not_found"),
            (blog(BlogError::Forbidden), StatusCode::FORBIDDEN, "forbidden"),
            (
                blog(BlogError::Unauthenticated),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
            (
                blog(BlogError::Validation(
                    FieldError::new("title", "required", "is required").into(),
                )),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
        ];
        for (problem, status, code) in cases {
            assert_eq!((problem.status(), problem.code()), (status, code));
        }
    }

    #[test]
    fn an_invalid_transition_is_409_naming_both_statuses() {
        let problem = blog(BlogError::InvalidTransition {
            from: PostStatus::Draft,
            to: PostStatus::Archived,
        });
        assert_eq!(problem.status(), StatusCode::CONFLICT);
        assert_eq!(problem.code(), "invalid_transition");
        assert_eq!(problem.detail(), Some("cannot go from draft to archived"));
    }

    #[test]
    fn a_backend_failure_is_503_with_the_cause_attached() {
        let response = blog(BlogError::Backend("db down".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let cause = response.extensions().get::<ErrorCause>().unwrap();
        assert!(std::error::Error::source(&*cause.0).is_some());
    }
}
