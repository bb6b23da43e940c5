//! The security ports' errors as problems: one table per port, so a code
//! means the same thing on every route.

use platform_ports::audit::AuditError;
use platform_ports::auth::AuthError;
use platform_ports::authz::AuthzError;
use platform_ports::identity::IdentityError;
use platform_ports::model::{FieldError, ValidationErrors};

use crate::problem::Problem;

/// Said for every refused access token, whatever check failed, so the
/// response never tells an attacker which part of a forgery was wrong.
const UNAUTHORIZED_DETAIL: &str = "a valid access token is required";

/// 401 `unauthorized` for a missing or refused access token.
pub(crate) fn unauthorized() -> Problem {
    Problem::unauthorized(UNAUTHORIZED_DETAIL)
}

/// 422 `validation_failed` for one field.
pub(crate) fn invalid_field(error: FieldError) -> Problem {
    Problem::unprocessable(ValidationErrors::from(error))
}

/// Identity use cases. `InvalidToken` is always a mailed token here
/// (verification, password reset): a 400, since no session is at stake.
pub(crate) fn identity(err: IdentityError) -> Problem {
    match err {
        IdentityError::Validation(errors) => Problem::unprocessable(errors),
        IdentityError::NotFound => Problem::not_found("no such resource"),
        IdentityError::Conflict(code) => Problem::conflict(conflict_detail(&code).to_owned()).with_code(code),
        IdentityError::InvalidCredentials => invalid_credentials(),
        IdentityError::InvalidToken => Problem::bad_request("the token is invalid or expired")
            .with_code("invalid_token")
            .with_title("Invalid token"),
        IdentityError::RateLimited { retry_after } => rate_limited(retry_after),
        err @ IdentityError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// An identity error on a route about the caller's own account: a token
/// whose user no longer exists is no valid credential, so "not found" is 401.
pub(crate) fn own_account(err: IdentityError) -> Problem {
    match err {
        IdentityError::NotFound => unauthorized(),
        other => identity(other),
    }
}

/// Login, refresh and logout. `InvalidToken` is a refresh token: a 401.
pub(crate) fn auth(err: AuthError) -> Problem {
    match err {
        AuthError::InvalidCredentials => invalid_credentials(),
        AuthError::EmailNotVerified => Problem::forbidden("the email address is not verified")
            .with_code("email_not_verified")
            .with_title("Email not verified"),
        AuthError::InvalidToken(_) => Problem::unauthorized("the token is invalid or expired")
            .with_code("invalid_token")
            .with_title("Invalid token"),
        AuthError::RateLimited { retry_after } => rate_limited(retry_after),
        AuthError::Validation(errors) => Problem::unprocessable(errors),
        err @ AuthError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// Permission checks.
pub(crate) fn authz(err: AuthzError) -> Problem {
    match err {
        AuthzError::Unauthenticated => unauthorized(),
        AuthzError::Forbidden(permission) => Problem::forbidden(format!("requires the permission `{permission}`")),
        err @ AuthzError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

/// Audit queries.
pub(crate) fn audit(err: AuditError) -> Problem {
    match err {
        AuditError::Validation(errors) => Problem::unprocessable(errors),
        err @ AuditError::Backend(_) => Problem::service_unavailable().with_cause(err),
    }
}

fn invalid_credentials() -> Problem {
    Problem::unauthorized("invalid email or password")
        .with_code("invalid_credentials")
        .with_title("Invalid credentials")
}

pub(crate) fn rate_limited(retry_after: std::time::Duration) -> Problem {
    Problem::too_many_requests(retry_after)
        .with_code("rate_limited")
        .with_detail("too many attempts; retry later")
}

/// A human sentence for the conflict codes the identity module uses.
fn conflict_detail(code: &str) -> &'static str {
    match code {
        "email_taken" => "the email address is already registered",
        "role_name_taken" => "a role with this name already exists",
        "last_admin" => {
            "the tenant would be left without an administrator (a user whose roles grant \
             `identity.role.assign` and `identity.role.update`)"
        }
        _ => "the request conflicts with the current state",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::response::IntoResponse;
    use http::StatusCode;
    use platform_ports::authz::Permission;

    use super::*;
    use crate::problem::ErrorCause;

    fn check(problem: &Problem, status: StatusCode, code: &str) {
        assert_eq!(problem.status(), status);
        assert_eq!(problem.code(), code);
    }

    #[test]
    fn identity_errors_map_to_their_codes() {
        check(
            &identity(IdentityError::Conflict("email_taken".into())),
            StatusCode::CONFLICT,
            "email_taken",
        );
        check(&identity(IdentityError::NotFound), StatusCode::NOT_FOUND, "not_found");
        check(
            &identity(IdentityError::InvalidToken),
            StatusCode::BAD_REQUEST,
            "invalid_token",
        );
        check(
            &identity(IdentityError::InvalidCredentials),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
        let validation = identity(IdentityError::Validation(
            FieldError::new("password", "too_short", "short").into(),
        ));
        check(&validation, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(validation.errors()[0].field, "password");
    }

    #[test]
    fn a_missing_own_account_is_401() {
        check(
            &own_account(IdentityError::NotFound),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        check(
            &own_account(IdentityError::Conflict("email_taken".into())),
            StatusCode::CONFLICT,
            "email_taken",
        );
    }

    #[test]
    fn auth_errors_map_to_their_codes() {
        check(
            &auth(AuthError::InvalidToken(None)),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        );
        check(
            &auth(AuthError::EmailNotVerified),
            StatusCode::FORBIDDEN,
            "email_not_verified",
        );
        let limited = auth(AuthError::RateLimited {
            retry_after: Duration::from_secs(7),
        })
        .into_response();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()["retry-after"], "7");
    }

    #[test]
    fn backend_failures_are_503_with_the_cause_attached() {
        let problems = [
            identity(IdentityError::Backend("db down".into())),
            auth(AuthError::Backend("db down".into())),
            authz(AuthzError::Backend("db down".into())),
            audit(AuditError::Backend("db down".into())),
        ];
        for problem in problems {
            let response = problem.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let cause = response.extensions().get::<ErrorCause>().unwrap();
            assert!(std::error::Error::source(&*cause.0).is_some());
        }
    }

    #[test]
    fn forbidden_names_the_permission() {
        let problem = authz(AuthzError::Forbidden(Permission::declare("a.b.c")));
        check(&problem, StatusCode::FORBIDDEN, "forbidden");
        assert!(problem.detail().unwrap().contains("a.b.c"));
        check(
            &authz(AuthzError::Unauthenticated),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
    }
}
