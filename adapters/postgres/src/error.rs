//! Driver errors as the persistence ports report them.

use platform_ports::StoreError;

/// A unique violation becomes a conflict named after the rule it broke (the
/// same names the memory adapter uses); a serialization failure or deadlock
/// becomes a conflict the caller may retry; the rest of SQLSTATE classes 22
/// (data exception: a NUL in text, a value out of range) and 23 (integrity
/// constraint violation) is a value the caller sent, so it is
/// [`StoreError::Invalid`] (a 4xx), never "the database is unavailable";
/// anything else is a backend failure.
pub(crate) fn store_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        let code = db.code();
        match code.as_deref() {
            Some("23505") => return StoreError::Conflict(rule_of(db.constraint()).to_owned()),
            Some("40001" | "40P01") => {
                return StoreError::Conflict("serialization_failure".to_owned());
            }
            Some(code) if is_caller_fault(code) => {
                // The driver's message is for the log; the caller learns only
                // the class (the message can quote the stored row).
                tracing::debug!(sqlstate = code, error = %db, "value refused by PostgreSQL");
                return StoreError::Invalid(caller_fault_reason(code, db.constraint()));
            }
            _ => {}
        }
    }
    StoreError::backend(err)
}

/// SQLSTATE class 22 (data exception) or 23 (integrity constraint violation).
fn is_caller_fault(sqlstate: &str) -> bool {
    sqlstate.starts_with("22") || sqlstate.starts_with("23")
}

/// What a refused value broke, without quoting the value.
fn caller_fault_reason(sqlstate: &str, constraint: Option<&str>) -> String {
    match (sqlstate, constraint) {
        ("22021", _) => "text_not_storable".to_owned(),
        (code, Some(constraint)) if code.starts_with("23") => constraint.to_owned(),
        (code, _) if code.starts_with("23") => "constraint".to_owned(),
        _ => "data_exception".to_owned(),
    }
}

/// The rule a unique constraint enforces, by its name in the migrations.
fn rule_of(constraint: Option<&str>) -> &str {
    match constraint {
        Some("users_tenant_email_key") => "email",
        Some("users_pkey" | "users_tenant_id_key") => "user_id",
        Some("roles_tenant_name_key") => "role_name",
        Some("roles_pkey" | "roles_tenant_id_key") => "role_id",
        Some("posts_pkey") => "post_id",
        Some("refresh_tokens_token_hash_key" | "verification_tokens_pkey") => "token_hash",
        Some("refresh_tokens_pkey") => "token_id",
        Some("audit_log_pkey") => "audit_id",
        Some("outbox_pkey" | "outbox_id_key") => "outbox_id",
        Some("files_pkey") => "file_id",
        Some("files_blob_key_key") => "file_key",
        Some(other) => other,
        None => "unique",
    }
}

/// A stored value the model refuses (a malformed email, an unknown status):
/// the row was written by something other than this adapter.
pub(crate) fn corrupt(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::backend(format!("stored {what} is invalid: {err}"))
}

/// `NotFound` when a statement aimed at one row touched none.
pub(crate) fn found(rows: u64) -> Result<(), StoreError> {
    if rows == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_names_map_to_the_memory_adapters_rules() {
        assert_eq!(rule_of(Some("users_tenant_email_key")), "email");
        assert_eq!(rule_of(Some("roles_tenant_name_key")), "role_name");
        assert_eq!(rule_of(Some("refresh_tokens_token_hash_key")), "token_hash");
        assert_eq!(rule_of(Some("something_else")), "something_else");
    }

    #[test]
    fn data_and_constraint_classes_are_the_callers_fault() {
        for code in ["22021", "22001", "22P02", "23502", "23503", "23514"] {
            assert!(is_caller_fault(code), "{code}");
        }
        for code in ["08006", "53300", "57P01", "40001", "XX000"] {
            assert!(!is_caller_fault(code), "{code}");
        }
        assert_eq!(caller_fault_reason("22021", None), "text_not_storable");
        assert_eq!(
            caller_fault_reason("23503", Some("user_roles_role_fk")),
            "user_roles_role_fk"
        );
        assert_eq!(caller_fault_reason("22003", None), "data_exception");
    }

    #[test]
    fn other_errors_are_backend_failures() {
        assert!(matches!(store_error(sqlx::Error::RowNotFound), StoreError::Backend(_)));
    }
}
