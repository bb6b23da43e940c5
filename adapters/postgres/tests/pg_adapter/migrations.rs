//! Migrations apply once, re-run as no-ops, and report their status.

use platform_adapter_postgres::MigrationState;

use crate::support::TestSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_report_their_status() {
    let Some(schema) = TestSchema::empty(None).await else {
        return;
    };
    let db = &schema.db;
    let owner = schema.owner.pool();
    let before = db.migration_status().await.unwrap();
    assert!(before.len() >= 5, "{before:?}");
    assert!(
        before
            .iter()
            .all(|m| m.state == MigrationState::Pending && m.installed_on.is_none()),
        "{before:?}"
    );
    let no_table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(owner)
        .await
        .unwrap();
    assert_eq!(no_table, None, "status must not create the bookkeeping table");

    db.migrate().await.unwrap();
    let tables = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_one(owner)
        .await
        .unwrap()
    };
    let after_first = tables().await;
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    assert_eq!(tables().await, after_first);

    let applied = db.migration_status().await.unwrap();
    assert_eq!(applied.len(), before.len());
    for (status, pending) in applied.iter().zip(&before) {
        assert_eq!(status.state, MigrationState::Applied, "{status:?}");
        assert_eq!(
            (status.version, &status.description),
            (pending.version, &pending.description)
        );
        assert!(status.installed_on.is_some());
    }
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(owner)
        .await
        .unwrap();
    assert_eq!(recorded, applied.len() as i64, "a migration was recorded twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_flags_changed_and_unknown_migrations() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let db = &schema.db;
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00' WHERE version = 1")
        .execute(schema.owner.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00', 1)",
    )
    .execute(schema.owner.pool())
    .await
    .unwrap();
    let status = db.migration_status().await.unwrap();
    assert_eq!(status[0].state, MigrationState::Modified);
    let last = status.last().unwrap();
    assert_eq!(
        (last.version, last.state, last.description.as_str()),
        (9999, MigrationState::Unknown, "from the future")
    );
    assert!(
        db.migrate().await.is_err(),
        "a changed migration must stop the migrator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_test_still_drops_its_schema() {
    let Some(probe) = TestSchema::empty(None).await else {
        return;
    };
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let failing = tokio::spawn(async move {
        let schema = TestSchema::create().await.unwrap();
        sender.send(schema.name().to_owned()).unwrap();
        // Fails while holding a transaction with locks, the worst case for DROP.
        let mut tx = schema.db.pool().begin().await.unwrap();
        sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .unwrap();
        panic!("the test failed");
    });
    assert!(failing.await.unwrap_err().is_panic());
    let name = receiver.await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&name)
        .fetch_one(probe.owner.pool())
        .await
        .unwrap();
    assert_eq!(left, 0, "schema {name} survived its failed test");
}

#[test]
fn schema_names_carry_their_age_and_messages_hide_passwords() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use crate::support::{DEFAULT_URL, created_at, redact, schema_name};

    let name = schema_name();
    assert!(name.len() < 64, "{name} exceeds PostgreSQL's identifier limit");
    let age = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() - created_at(&name).unwrap();
    assert!(age < Duration::from_secs(5));
    assert_eq!(created_at("t_not_a_uuid"), None);
    assert_eq!(
        redact("postgres://app:s3cret@db:5432/x"),
        "postgres://app:***@db:5432/x"
    );
    assert_eq!(redact(DEFAULT_URL), DEFAULT_URL);
}
