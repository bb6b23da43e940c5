//! Units of work: a failed statement is never committed, conflicts keep
//! their rule names, and a clash does not spoil the rest of the transaction.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use platform_adapter_postgres::{PgAuditStore, PgRoleRepository, PgUnitOfWork, PgUserRepository};
use platform_contract::fixtures::{audit_entry, committed, role, tenant, user};
use platform_ports::StoreError;
use platform_ports::audit::AuditEntry;
use platform_ports::audit::AuditStore;
use platform_ports::identity::{Role, User};
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::persistence::UnitOfWork;

use crate::support::TestSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_statement_makes_commit_fail_and_keeps_nothing() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let users = PgUserRepository::new(schema.db.clone());
    let audit = PgAuditStore::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    let t = tenant();
    let ada = user(t, "ada@example.com");
    // PostgreSQL's jsonb cannot hold a NUL character: the insert fails, as
    // the caller's fault (a data exception), not as an outage.
    let unstorable = AuditEntry {
        metadata: BTreeMap::from([("bad".to_owned(), serde_json::json!("nul\u{0}here"))]),
        ..audit_entry(t, "user.created", Utc::now())
    };

    let mut tx = uow.begin().await.unwrap();
    users.create(&mut tx, &ada).await.unwrap();
    let failed = audit.append(&mut tx, &unstorable).await;
    assert!(matches!(failed, Err(StoreError::Invalid(_))), "{failed:?}");
    // A use case that ignored the error must not believe its writes were kept.
    let commit = tx.commit().await;
    assert!(matches!(commit, Err(StoreError::Backend(_))), "{commit:?}");
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_name_their_rule_and_leave_the_unit_of_work_usable() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let users = PgUserRepository::new(schema.db.clone());
    let roles = PgRoleRepository::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let admin = role(t, "admin", &["user.read"]);
    let grace = user(t, "grace@example.com");

    let mut tx = uow.begin().await.unwrap();
    users.create(&mut tx, &ada).await.unwrap();
    roles.create(&mut tx, &admin).await.unwrap();
    let conflicts = [
        users.create(&mut tx, &user(t, "ADA@example.com")).await,
        users
            .create(
                &mut tx,
                &User {
                    email: grace.email.clone(),
                    ..ada.clone()
                },
            )
            .await,
        roles.create(&mut tx, &role(t, "admin", &[])).await,
        roles
            .create(
                &mut tx,
                &Role {
                    id: admin.id,
                    ..role(t, "other", &[])
                },
            )
            .await,
    ];
    let names: Vec<String> = conflicts
        .into_iter()
        .map(|r| match r {
            Err(StoreError::Conflict(rule)) => rule,
            other => panic!("expected a conflict, got {other:?}"),
        })
        .collect();
    assert_eq!(names, ["email", "user_id", "role_name", "role_id"]);
    // The clashes did not abort the transaction.
    users.create(&mut tx, &grace).await.unwrap();
    tx.commit().await.unwrap();
    assert!(users.find_by_id(t, ada.id).await.unwrap().is_some());
    assert!(users.find_by_id(t, grace.id).await.unwrap().is_some());
    assert!(roles.find_by_id(t, admin.id).await.unwrap().is_some());

    let steal = User {
        email: ada.email.clone(),
        ..grace.clone()
    };
    let taken = committed(&uow, async |tx| users.update(tx, &steal).await).await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(rule)) if rule == "email"),
        "{taken:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_email_changes_conflict_on_the_unique_index() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let users = PgUserRepository::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let grace = user(t, "grace@example.com");
    committed(&uow, async |tx| {
        users.create(tx, &ada).await?;
        users.create(tx, &grace).await
    })
    .await
    .unwrap();

    let wanted = platform_contract::fixtures::email("countess@example.com");
    let mut first = uow.begin().await.unwrap();
    users
        .update(
            &mut first,
            &User {
                email: wanted.clone(),
                ..ada.clone()
            },
        )
        .await
        .unwrap();
    // The second writer passes the in-statement check (the first has not
    // committed) and then waits on the unique index for the first.
    let second = tokio::spawn({
        let (users, uow, grace, wanted) = (users.clone(), uow.clone(), grace.clone(), wanted);
        async move {
            let mut tx = uow.begin().await?;
            let result = users.update(&mut tx, &User { email: wanted, ..grace }).await;
            let commit = tx.commit().await;
            Ok::<_, StoreError>((result, commit))
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    first.commit().await.unwrap();
    let (result, commit) = second.await.unwrap().unwrap();
    assert!(
        matches!(&result, Err(StoreError::Conflict(rule)) if rule == "email"),
        "{result:?}"
    );
    assert!(commit.is_err(), "a transaction whose statement failed was committed");
    assert_eq!(users.find_by_id(t, grace.id).await.unwrap(), Some(grace));
}
