//! How the identity use cases report failures: store, hashing and
//! validation errors mapped to [`IdentityError`], and the cache
//! invalidations that may fail without failing the change.

use platform_ports::StoreError;
use platform_ports::authz::AuthzError;
use platform_ports::identity::HashError;
use platform_ports::identity::IdentityError;
use platform_ports::model::{FieldError, UserId, ValidationErrors};

use crate::support::{foreign_cursor, unstorable};

/// A store failure as the use cases report it: missing rows, the two
/// uniqueness rules clients can act on and refused values keep their
/// meaning, the rest is a backend failure.
pub(crate) fn store_error(err: StoreError) -> IdentityError {
    match err {
        StoreError::NotFound => IdentityError::NotFound,
        StoreError::Conflict(rule) if rule == "email" => IdentityError::Conflict("email_taken".to_owned()),
        StoreError::Conflict(rule) if rule == "role_name" => IdentityError::Conflict("role_name_taken".to_owned()),
        StoreError::Invalid(reason) => IdentityError::Validation(unstorable(&reason)),
        other => IdentityError::Backend(Box::new(other)),
    }
}

/// A list's store failure: a conflict there means a cursor the list did not make.
pub(crate) fn list_error(err: StoreError) -> IdentityError {
    match err {
        StoreError::Conflict(_) => IdentityError::Validation(foreign_cursor()),
        other => store_error(other),
    }
}

/// One invalid field as a use-case error.
pub(crate) fn invalid(err: FieldError) -> IdentityError {
    IdentityError::Validation(err.into())
}

/// Every field error among `checks`, as one validation error (or `Ok`), so
/// a form can show all its mistakes at once.
pub(crate) fn all_valid<'a>(checks: impl IntoIterator<Item = Option<&'a FieldError>>) -> Result<(), IdentityError> {
    ValidationErrors(checks.into_iter().flatten().cloned().collect())
        .into_result()
        .map_err(IdentityError::Validation)
}

/// Hashing failures are the hasher's problem, never the caller's.
pub(crate) fn hash_error(err: HashError) -> IdentityError {
    IdentityError::Backend(Box::new(err))
}

/// Logs a failed cache invalidation: the change is committed, and cached
/// permissions expire on their own, so the caller is not failed for it.
pub(crate) fn log_invalidation(user_id: UserId, result: Result<(), AuthzError>) {
    if let Err(err) = result {
        tracing::warn!(user_id = %user_id, error = %err, "could not invalidate cached permissions");
    }
}
