//! Row-level security, the second tenant wall: what the platform's role sees
//! when a query forgets its tenant filter, when no tenant is set, and
//! through each named bypass.

use std::sync::Arc;

use platform_adapter_postgres::{
    APP_ROLE, PgAuditStore, PgDatabase, PgOutbox, PgPostRepository, PgRefreshTokenStore, PgUnitOfWork,
    PgUserRepository, PgVerificationTokenStore, PgWebhookRepository,
};
use platform_contract::fixtures::{
    audit_entry, committed, event, now, post, refresh_token, tenant, user, verification_token,
};
use platform_contract::webhooks::subscription;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::auth::{RefreshTokenStore, VerificationPurpose, VerificationTokenStore};
use platform_ports::blog::{PostRepository, PostStatus};
use platform_ports::events::Outbox;
use platform_ports::identity::UserRepository;
use platform_ports::model::{TenantId, TokenFamilyId};
use platform_ports::webhooks::{Subscription, WebhookRepository};
use sqlx::{Connection, PgConnection};

use crate::support::TestSchema;
use crate::support::metrics::RecordingMetrics;

/// `count(*)` of `table` on `conn`, as it stands.
async fn count(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// `count(*)` of `table` in a transaction with `setting = value` (local).
async fn count_with(conn: &mut PgConnection, setting: &str, value: &str, table: &str) -> i64 {
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(setting)
        .bind(value)
        .execute(&mut *tx)
        .await
        .unwrap();
    let n = count(&mut tx, table).await;
    tx.rollback().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_table_forces_rls_and_the_platform_role_owns_none() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
         WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
         AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(schema.owner.pool())
    .await
    .unwrap();
    assert!(tables.len() >= 16, "tenant tables: {tables:?}");
    for (table, enabled, forced) in &tables {
        assert!(
            *enabled && *forced,
            "{table}: row-level security enabled {enabled}, forced {forced}"
        );
    }

    // What the platform's connections are: the app role, which neither
    // is a superuser, nor bypasses RLS, nor owns a table.
    let (role, superuser, bypass_rls, owned): (String, bool, bool, i64) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls, \
         (SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid \
          AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(schema.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (role.as_str(), superuser, bypass_rls, owned),
        (APP_ROLE, false, false, 0)
    );
    // A role given at connect time is what RESET ROLE returns to.
    let mut conn = schema.db.pool().acquire().await.unwrap();
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    let after: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after, APP_ROLE);
}

/// Two subscriptions, one per tenant, created through the filtered repository.
async fn two_tenants(webhooks: &PgWebhookRepository, uow: &PgUnitOfWork) -> (TenantId, Subscription, Subscription) {
    let (mine, theirs) = (tenant(), tenant());
    let own = subscription(mine, 1, true);
    let foreign = subscription(theirs, 2, true);
    for s in [&own, &foreign] {
        committed(uow, async |tx| webhooks.create(tx, s).await).await.unwrap();
    }
    (mine, own, foreign)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_tenant_filter_still_reads_and_writes_one_tenant() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let uow = PgUnitOfWork::new(schema.db.clone());
    let filtered = PgWebhookRepository::new(schema.db.clone());
    let (mine, own, foreign) = two_tenants(&filtered, &uow).await;

    // The switch really drops the filter: where RLS does not bind (the
    // owner is a superuser here), the broken repository leaks.
    let leaky = PgWebhookRepository::new(schema.owner.clone()).without_tenant_filter();
    assert_eq!(leaky.find(mine, foreign.id).await.unwrap(), Some(foreign.clone()));
    assert_eq!(leaky.list(mine).await.unwrap().len(), 2);

    // As the platform's role, RLS holds the wall the query forgot.
    let broken = PgWebhookRepository::new(schema.db.clone()).without_tenant_filter();
    assert_eq!(broken.find(mine, foreign.id).await.unwrap(), None);
    assert_eq!(broken.list(mine).await.unwrap(), vec![own.clone()]);
    assert_eq!(broken.active(mine).await.unwrap(), vec![own.clone()]);
    let hijack = Subscription {
        tenant_id: mine,
        url: "https://attacker.example.com/in".to_owned(),
        ..foreign.clone()
    };
    let updated = committed(&uow, async |tx| broken.update(tx, &hijack).await).await;
    assert!(matches!(updated, Err(StoreError::NotFound)), "{updated:?}");
    let deleted = committed(&uow, async |tx| broken.delete(tx, mine, foreign.id).await).await;
    assert!(matches!(deleted, Err(StoreError::NotFound)), "{deleted:?}");
    assert_eq!(
        filtered.find(foreign.tenant_id, foreign.id).await.unwrap(),
        Some(foreign.clone()),
        "the other tenant's row is unchanged"
    );
    // Its own tenant's rows still work through the broken repository.
    let renamed = Subscription {
        url: "https://hooks.example.com/v2".to_owned(),
        ..own.clone()
    };
    committed(&uow, async |tx| broken.update(tx, &renamed).await)
        .await
        .unwrap();
    assert_eq!(filtered.find(mine, own.id).await.unwrap(), Some(renamed));

    // Nor can a statement of one tenant write a row into another (WITH CHECK).
    let mut conn = schema.db.pool().acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(mine.0.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("UPDATE webhook_subscriptions SET tenant_id = $1 WHERE id = $2")
        .bind(foreign.tenant_id.0)
        .bind(own.id.0)
        .execute(&mut *tx)
        .await
        .expect_err("moving a row to another tenant");
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_tenant_set_a_statement_sees_nothing_and_writes_nothing() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let uow = PgUnitOfWork::new(schema.db.clone());
    let users = PgUserRepository::new(schema.db.clone());
    let t = tenant();
    let u = user(t, "ada@example.com");
    committed(&uow, async |tx| users.create(tx, &u).await).await.unwrap();
    assert_eq!(users.find_by_id(t, u.id).await.unwrap(), Some(u.clone()));

    let mut conn = schema.db.pool().acquire().await.unwrap();
    assert_eq!(count(&mut conn, "users").await, 0, "no tenant set");
    assert_eq!(
        count_with(&mut conn, "app.tenant_id", &t.0.to_string(), "users").await,
        1
    );
    assert_eq!(
        count(&mut conn, "users").await,
        0,
        "the setting ended with its transaction: nothing leaks to the connection's next user"
    );
    assert_eq!(
        count_with(&mut conn, "app.tenant_id", &tenant().0.to_string(), "users").await,
        0
    );
    let touched = sqlx::query("UPDATE users SET display_name = 'changed'")
        .execute(&mut *conn)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(touched, 0);
    let touched = sqlx::query("DELETE FROM users")
        .execute(&mut *conn)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(touched, 0);
    let err = sqlx::query(
        "INSERT INTO posts (id, tenant_id, author_id, title, content, status, created_at, updated_at) \
         VALUES (gen_random_uuid(), $1, gen_random_uuid(), 't', 'c', 'draft', now(), now())",
    )
    .bind(t.0)
    .execute(&mut *conn)
    .await
    .expect_err("an insert with no tenant set");
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501"),
        "{err}"
    );
    // The append-only audit tables are closed to the platform's role by privilege too.
    let err = sqlx::query("DELETE FROM audit_log")
        .execute(&mut *conn)
        .await
        .expect_err("delete from audit_log");
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501"),
        "{err}"
    );
    drop(conn);
    assert_eq!(users.find_by_id(t, u.id).await.unwrap(), Some(u));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_named_bypass_reaches_only_its_tables_and_is_counted() {
    let metrics = Arc::new(RecordingMetrics::default());
    let Some(schema) = TestSchema::create_with(Some(metrics.clone())).await else {
        return;
    };
    let db: &PgDatabase = &schema.db;
    let uow = PgUnitOfWork::new(db.clone());
    let (users, posts) = (PgUserRepository::new(db.clone()), PgPostRepository::new(db.clone()));
    let refresh = PgRefreshTokenStore::new(db.clone());
    let verification = PgVerificationTokenStore::new(db.clone());
    let (outbox, audit) = (PgOutbox::new(db.clone()), PgAuditStore::new(db.clone()));
    let (t, other) = (tenant(), tenant());
    let u = user(t, "grace@example.com");
    let token = refresh_token(u.id, t, TokenFamilyId::new(), chrono::Duration::hours(1));
    let mailed = verification_token(u.id, t, VerificationPurpose::PasswordReset, chrono::Duration::hours(1));
    committed(&uow, async |tx| {
        users.create(tx, &u).await?;
        posts.create(tx, &post(t, u.id, PostStatus::Draft, now())).await?;
        refresh.insert(tx, &token).await?;
        verification.insert(tx, &mailed).await?;
        outbox
            .enqueue(tx, "platform.user.created", &event(t, "platform.user.created", None))
            .await?;
        audit.append(tx, &audit_entry(t, "user.created", now())).await
    })
    .await
    .unwrap();

    // What each reason opens, as the platform's role on a raw connection.
    let tables = [
        "users",
        "posts",
        "refresh_tokens",
        "verification_tokens",
        "outbox",
        "audit_log",
        "audit_chain",
    ];
    let expected: [(&str, [i64; 7]); 7] = [
        ("token_lookup", [0, 0, 1, 1, 0, 0, 0]),
        ("outbox_relay", [0, 0, 0, 0, 1, 0, 0]),
        ("audit_writer", [0, 0, 0, 0, 0, 1, 1]),
        ("webhook_delivery", [0, 0, 0, 0, 0, 0, 0]),
        ("maintenance", [0, 0, 1, 1, 0, 0, 1]),
        ("digest", [1, 0, 0, 0, 0, 0, 0]),
        ("made_up_reason", [0, 0, 0, 0, 0, 0, 0]),
    ];
    let mut conn = schema.db.pool().acquire().await.unwrap();
    for (reason, counts) in expected {
        for (table, want) in tables.iter().zip(counts) {
            assert_eq!(
                count_with(&mut conn, "app.bypass", reason, table).await,
                want,
                "app.bypass = {reason} on {table}"
            );
        }
    }
    drop(conn);

    // The adapter's bypassing paths work across tenants, and are counted.
    let found = committed(&uow, async |tx| refresh.find_for_update(tx, &token.token_hash).await)
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id), Some(token.id));
    let claimed = outbox.claim(10, std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    outbox.mark_sent(&[claimed[0].id]).await.unwrap();
    audit
        .append_batch(&[
            audit_entry(t, "login.failed", now()),
            audit_entry(other, "login.failed", now()),
        ])
        .await
        .unwrap();
    let mut chained = audit.chained_tenants().await.unwrap();
    chained.sort_by_key(|tenant| tenant.0);
    let mut both = vec![t, other];
    both.sort_by_key(|tenant| tenant.0);
    assert_eq!(chained, both);
    assert_eq!(
        refresh.delete_expired(now() + chrono::Duration::days(1)).await.unwrap(),
        1
    );

    let counted = |reason| metrics.counted("db.rls.bypasses", "reason", reason);
    assert!(counted("token_lookup") >= 1.0, "{:?}", metrics.counts);
    assert!(
        counted("outbox_relay") >= 2.0,
        "claim and mark_sent: {:?}",
        metrics.counts
    );
    assert!(counted("audit_writer") >= 1.0);
    assert!(counted("maintenance") >= 2.0);
}
