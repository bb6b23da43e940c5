//! Behaviour specific to the memory store: how units of work serialise,
//! how writes outside them interleave, and shaku wiring.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeDelta;
use platform_adapter_memory::{
    MemoryAuditStore, MemoryOutbox, MemoryPostRepository, MemoryRefreshTokenStore, MemoryRoleRepository, MemoryStore,
    MemoryUnitOfWork, MemoryUserRepository, MemoryVerificationTokenStore,
};
use platform_contract::fixtures::{audit_entry, committed, event, now, refresh_token, tenant, user};
use platform_ports::StoreError;
use platform_ports::audit::AuditFilter;
use platform_ports::audit::AuditStore;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::events::Outbox;
use platform_ports::identity::User;
use platform_ports::identity::UserRepository;
use platform_ports::model::{PageRequest, TokenFamilyId, UserId};
use platform_ports::persistence::{Transaction, Tx, UnitOfWork};
use shaku::{HasComponent, module};
use tokio::time::timeout;

/// How long something that must wait is watched not to finish.
const SHORT: Duration = Duration::from_millis(100);
/// How long something that must not wait may take, on a loaded machine.
const PROMPT: Duration = Duration::from_secs(2);

fn store() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new())
}

/// Read-modify-write cycles in concurrent units of work lose no update: the
/// memory store runs units of work one at a time, so a read made after
/// `begin` sees every earlier commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_units_of_work_lose_no_update() {
    let store = store();
    let uow: Arc<dyn UnitOfWork> = Arc::new(MemoryUnitOfWork::new(store.clone()));
    let users: Arc<dyn UserRepository> = Arc::new(MemoryUserRepository::new(store));
    let t = tenant();
    let counter = User {
        display_name: Some("0".to_owned()),
        ..user(t, "counter@example.com")
    };
    committed(&*uow, async |tx| users.create(tx, &counter).await)
        .await
        .unwrap();

    let increment = |uow: Arc<dyn UnitOfWork>, users: Arc<dyn UserRepository>, id: UserId| async move {
        for _ in 0..25 {
            let mut tx = uow.begin().await.unwrap();
            let mut current = users.find_by_id(t, id).await.unwrap().unwrap();
            let n: u32 = current.display_name.as_deref().unwrap().parse().unwrap();
            // Hands the other task a chance to interleave between read and write.
            tokio::task::yield_now().await;
            current.display_name = Some((n + 1).to_string());
            users.update(&mut tx, &current).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let a = tokio::spawn(increment(uow.clone(), users.clone(), counter.id));
    let b = tokio::spawn(increment(uow.clone(), users.clone(), counter.id));
    a.await.unwrap();
    b.await.unwrap();
    let total = users.find_by_id(t, counter.id).await.unwrap().unwrap().display_name;
    assert_eq!(total.as_deref(), Some("50"));
}

/// Reads outside a unit of work never wait for one that is open.
#[tokio::test]
async fn readers_do_not_wait_for_open_units_of_work() {
    let store = store();
    let uow = MemoryUnitOfWork::new(store.clone());
    let users = MemoryUserRepository::new(store);
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let mut tx = uow.begin().await.unwrap();
    users.create(&mut tx, &ada).await.unwrap();
    let read = timeout(PROMPT, users.find_by_email(t, &ada.email)).await;
    assert!(matches!(read, Ok(Ok(None))), "{read:?}");
    tx.commit().await.unwrap();
    assert_eq!(users.find_by_email(t, &ada.email).await.unwrap(), Some(ada));
}

/// A second unit of work starts only when the first ends, however it ends.
#[tokio::test]
async fn begin_waits_for_the_open_unit_of_work() {
    let uow = MemoryUnitOfWork::new(store());
    let tx = uow.begin().await.unwrap();
    assert!(
        timeout(SHORT, uow.begin()).await.is_err(),
        "two units of work ran at once"
    );
    drop(tx);
    let tx = timeout(PROMPT, uow.begin())
        .await
        .expect("drop released the writer lock")
        .unwrap();
    tx.rollback().await.unwrap();
    timeout(PROMPT, uow.begin())
        .await
        .expect("rollback released the writer lock")
        .unwrap();
}

/// A table-wide maintenance write waits for the open unit of work, so the
/// unit's commit cannot resurrect what it deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_writes_wait_for_open_units_of_work() {
    let store = store();
    let uow = MemoryUnitOfWork::new(store.clone());
    let tokens = Arc::new(MemoryRefreshTokenStore::new(store));
    let expired = refresh_token(UserId::new(), tenant(), TokenFamilyId::new(), TimeDelta::hours(-1));
    let mut tx = uow.begin().await.unwrap();
    tokens.insert(&mut tx, &expired).await.unwrap();

    let sweeper = tokens.clone();
    let sweep = tokio::spawn(async move { sweeper.delete_expired(now()).await });
    tokio::time::sleep(SHORT).await;
    assert!(!sweep.is_finished(), "delete_expired ran inside an open unit of work");
    tx.commit().await.unwrap();
    assert_eq!(sweep.await.unwrap().unwrap(), 1);
    let mut tx = uow.begin().await.unwrap();
    assert_eq!(tokens.find_by_id(&mut tx, expired.id).await.unwrap(), None);
}

/// The relay and batched audit writes run while a unit of work is open; its
/// commit adds to what they did instead of overwriting it.
#[tokio::test]
async fn commit_keeps_log_writes_made_while_it_was_open() {
    let store = store();
    let uow = MemoryUnitOfWork::new(store.clone());
    let outbox = MemoryOutbox::new(store.clone());
    let audit = MemoryAuditStore::new(store);
    let t = tenant();
    let mut tx = uow.begin().await.unwrap();
    outbox.enqueue(&mut tx, "topic", &event(t, "old", None)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = uow.begin().await.unwrap();
    outbox.enqueue(&mut tx, "topic", &event(t, "new", None)).await.unwrap();
    audit.append(&mut tx, &audit_entry(t, "in.tx", now())).await.unwrap();
    let sent = outbox.claim(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(sent.len(), 1);
    outbox.mark_sent(&[sent[0].id]).await.unwrap();
    audit.append_batch(&[audit_entry(t, "batched", now())]).await.unwrap();
    tx.commit().await.unwrap();

    let left = outbox.claim(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        left.iter().map(|m| m.event.event_type.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    let entries = audit
        .query(t, &AuditFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(entries.items.len(), 2);
}

/// A refused write has no partial effect and leaves the unit's earlier
/// writes in place.
#[tokio::test]
async fn refused_write_keeps_earlier_writes_of_the_unit() {
    let store = store();
    let uow = MemoryUnitOfWork::new(store.clone());
    let users = MemoryUserRepository::new(store);
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let mut tx = uow.begin().await.unwrap();
    users.create(&mut tx, &ada).await.unwrap();
    let twin = user(t, "ada@example.com");
    assert!(matches!(users.create(&mut tx, &twin).await, Err(StoreError::Conflict(c)) if c == "email"));
    tx.commit().await.unwrap();
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), Some(ada));
    assert_eq!(users.find_by_id(t, twin.id).await.unwrap(), None);
}

struct ForeignTx;

#[async_trait]
impl Tx for ForeignTx {
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
    fn as_any_mut(&mut self) -> &mut (dyn Any + Send) {
        self
    }
}

/// A transaction of another adapter, or of another memory store, is a
/// wiring bug reported as a backend failure, never a silent write elsewhere.
#[tokio::test]
async fn foreign_transactions_are_refused() {
    let users = MemoryUserRepository::new(store());
    let mut foreign = Transaction::new(ForeignTx);
    let result = users.create(&mut foreign, &user(tenant(), "ada@example.com")).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");

    let other_store = MemoryUnitOfWork::new(store());
    let mut tx = other_store.begin().await.unwrap();
    let result = users.create(&mut tx, &user(tenant(), "ada@example.com")).await;
    assert!(matches!(result, Err(StoreError::Backend(_))), "{result:?}");
}

/// The outbox keeps the last error of a failed message for diagnosis.
#[tokio::test]
async fn outbox_keeps_last_error() {
    let store = store();
    let uow = MemoryUnitOfWork::new(store.clone());
    let outbox = MemoryOutbox::new(store);
    let mut tx = uow.begin().await.unwrap();
    outbox
        .enqueue(&mut tx, "topic", &event(tenant(), "e", None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = outbox.claim(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(outbox.last_error(claimed[0].id), None);
    outbox
        .mark_failed(claimed[0].id, "broker down", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(outbox.last_error(claimed[0].id).as_deref(), Some("broker down"));
    outbox.mark_sent(&[claimed[0].id]).await.unwrap();
    assert_eq!(outbox.last_error(claimed[0].id), None);
}

module! {
    Persistence {
        components = [
            MemoryUnitOfWork, MemoryUserRepository, MemoryRoleRepository, MemoryRefreshTokenStore,
            MemoryVerificationTokenStore, MemoryAuditStore, MemoryPostRepository, MemoryOutbox
        ],
        providers = []
    }
}

/// Every component resolves through shaku over the one store bootstrap passes.
#[tokio::test]
async fn components_resolve_through_shaku_over_one_store() {
    let store = store();
    let module = Persistence::builder()
        .with_component_parameters::<MemoryUnitOfWork>(MemoryUnitOfWork::parameters(store.clone()))
        .with_component_parameters::<MemoryUserRepository>(MemoryUserRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryRoleRepository>(MemoryRoleRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryRefreshTokenStore>(MemoryRefreshTokenStore::parameters(store.clone()))
        .with_component_parameters::<MemoryVerificationTokenStore>(MemoryVerificationTokenStore::parameters(
            store.clone(),
        ))
        .with_component_parameters::<MemoryAuditStore>(MemoryAuditStore::parameters(store.clone()))
        .with_component_parameters::<MemoryPostRepository>(MemoryPostRepository::parameters(store.clone()))
        .with_component_parameters::<MemoryOutbox>(MemoryOutbox::parameters(store.clone()))
        .build();
    let uow: Arc<dyn UnitOfWork> = module.resolve();
    let users: Arc<dyn UserRepository> = module.resolve();
    let outbox: Arc<dyn Outbox> = module.resolve();
    let audit: Arc<dyn AuditStore> = module.resolve();
    let _: Arc<dyn platform_ports::identity::RoleRepository> = module.resolve();
    let _: Arc<dyn RefreshTokenStore> = module.resolve();
    let _: Arc<dyn platform_ports::auth::VerificationTokenStore> = module.resolve();
    let _: Arc<dyn platform_ports::blog::PostRepository> = module.resolve();

    let t = tenant();
    let ada = user(t, "ada@example.com");
    committed(&*uow, async |tx| {
        users.create(tx, &ada).await?;
        audit.append(tx, &audit_entry(t, "user.created", now())).await?;
        outbox.enqueue(tx, "users", &event(t, "user.created", None)).await
    })
    .await
    .unwrap();
    // A repository built by hand over the same store sees the commit.
    assert_eq!(
        MemoryUserRepository::new(store.clone())
            .find_by_id(t, ada.id)
            .await
            .unwrap(),
        Some(ada)
    );
    assert_eq!(MemoryOutbox::new(store).pending().await.unwrap(), 1);
}
