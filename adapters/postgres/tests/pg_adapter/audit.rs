//! The audit log is append-only in the database itself, and a batch is one statement.

use std::sync::Arc;

use chrono::TimeDelta;
use platform_adapter_postgres::{PgAuditStore, PgUnitOfWork};
use platform_contract::fixtures::{audit_entry, committed, now, tenant};
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter};
use platform_ports::model::{PageRequest, UserId};

use crate::support::TestSchema;
use crate::support::metrics::RecordingMetrics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_refuse_update_delete_and_truncate() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let audit = PgAuditStore::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    let t = tenant();
    let entry = audit_entry(t, "user.created", now());
    committed(&uow, async |tx| audit.append(tx, &entry).await)
        .await
        .unwrap();

    for statement in [
        "UPDATE audit_log SET action = 'user.forged'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(statement)
            .execute(schema.owner.pool())
            .await
            .expect_err(statement);
        let db_err = err.as_database_error().expect("a database error");
        assert_eq!(db_err.code().as_deref(), Some("42501"), "{statement}: {db_err}");
        assert!(db_err.message().contains("append-only"), "{db_err}");
    }
    let page = audit
        .query(t, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(page.items, vec![entry]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_batch_of_a_thousand_is_one_statement() {
    let metrics = Arc::new(RecordingMetrics::default());
    let Some(schema) = TestSchema::create_with(Some(metrics.clone())).await else {
        return;
    };
    // Counts INSERT statements (not rows) reaching the table.
    sqlx::raw_sql(
        "CREATE TABLE insert_statements (at TIMESTAMPTZ NOT NULL DEFAULT now());
         CREATE FUNCTION count_insert_statement() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN INSERT INTO insert_statements DEFAULT VALUES; RETURN NULL; END $$;
         CREATE TRIGGER count_audit_inserts AFTER INSERT ON audit_log
             FOR EACH STATEMENT EXECUTE FUNCTION count_insert_statement();",
    )
    .execute(schema.owner.pool())
    .await
    .unwrap();

    let audit = PgAuditStore::new(schema.db.clone());
    let t = tenant();
    let start = now();
    let entries: Vec<AuditEntry> = (0..1000)
        .map(|i| AuditEntry {
            actor_id: (i % 3 == 0).then(UserId::new),
            target_id: (i % 2 == 0).then(|| format!("user-{i}")),
            user_agent: Some("tab\there, \"quotes\", back\\slash".to_owned()),
            ..audit_entry(t, "login.failed", start + TimeDelta::microseconds(i))
        })
        .collect();
    audit.append_batch(&entries).await.unwrap();

    let statements: i64 = sqlx::query_scalar("SELECT count(*) FROM insert_statements")
        .fetch_one(schema.owner.pool())
        .await
        .unwrap();
    assert_eq!(statements, 1, "the batch took {statements} INSERT statements");
    let timed = metrics.of_operation("audit.append_batch");
    assert_eq!(timed.len(), 1, "one database operation per batch: {timed:?}");
    let (name, seconds, labels) = &timed[0];
    assert_eq!(*name, "db.client.operation.duration");
    assert!(*seconds > 0.0);
    assert!(labels.contains(&("db.system", "postgresql".to_owned())), "{labels:?}");
    let created = metrics.created.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "instruments are created once: {created:?}");
    assert_eq!((created[0].0, created[0].1), ("db.client.operation.duration", "s"));

    // Every row is stored whole, newest first.
    let mut stored = Vec::new();
    let mut cursor = None;
    loop {
        let page = audit
            .query(t, &AuditFilter::default(), &PageRequest { limit: 200, cursor })
            .await
            .unwrap();
        stored.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    stored.reverse();
    assert_eq!(stored.len(), entries.len());
    if let Some(i) = (0..entries.len()).find(|&i| stored[i] != entries[i]) {
        panic!("entry {i} changed: {:?} became {:?}", entries[i], stored[i]);
    }
}
