//! Driver errors as the persistence ports report them.

use platform_ports::StoreError;

/// A unique violation becomes a conflict named after the rule it broke (the
/// same names the memory adapter uses); a serialization failure or deadlock
/// becomes a conflict the caller may retry; anything else is a backend failure.
pub(crate) fn store_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.code().as_deref() {
            Some("23505") => return StoreError::Conflict(rule_of(db.constraint()).to_owned()),
            Some("40001" | "40P01") => {
                return StoreError::Conflict("serialization_failure".to_owned());
            }
            _ => {}
        }
    }
    StoreError::backend(err)
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
    fn other_errors_are_backend_failures() {
        assert!(matches!(store_error(sqlx::Error::RowNotFound), StoreError::Backend(_)));
    }
}
