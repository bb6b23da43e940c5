//! The platform's PostgreSQL schema: plain-SQL, forward-only migrations in
//! `migrations/sql/NNNN_name.sql`, embedded into the binary at compile time.
//!
//! Embedding needs no database: `sqlx::migrate!` only reads the files. Running
//! the migrator applies, in version order and each in its own transaction, the
//! migrations the database has not recorded yet (in `_sqlx_migrations` of the
//! connection's first schema), so re-running it is a no-op. An applied
//! migration whose file changed is refused, never re-applied.

use sqlx::migrate::Migrator;

/// Every migration of this build, in version order.
pub static MIGRATOR: Migrator = sqlx::migrate!("./sql");

/// The embedded migrator (the same migrations as [`MIGRATOR`]).
#[must_use]
pub fn migrator() -> &'static Migrator {
    &MIGRATOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_and_only_go_forward() {
        let migrations: Vec<_> = migrator().iter().collect();
        assert!(!migrations.is_empty());
        for (expected, migration) in (1_i64..).zip(&migrations) {
            assert_eq!(migration.version, expected, "{}", migration.description);
            assert!(
                !migration.migration_type.is_down_migration(),
                "down migrations are not used: {}",
                migration.description
            );
            assert!(!migration.description.is_empty());
            assert!(!migration.sql.as_str().trim().is_empty());
        }
    }

    #[test]
    fn migrations_do_not_name_a_schema() {
        // Tests and deployments choose the schema through search_path; a
        // qualified name would escape it.
        for migration in migrator().iter() {
            let sql = migration.sql.as_str().to_lowercase();
            assert!(
                !sql.contains("public."),
                "{} names the public schema",
                migration.description
            );
        }
    }
}
