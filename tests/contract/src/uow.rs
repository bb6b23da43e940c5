//! Units of work: commit publishes, rollback and drop discard, and
//! concurrent units of work on one row serialise.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use platform_ports::StoreError;
use platform_ports::audit::AuditFilter;
use platform_ports::audit::AuditStore;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::events::Outbox;
use platform_ports::identity::UserRepository;
use platform_ports::model::{PageRequest, TokenFamilyId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{audit_entry, committed, event, now, refresh_token, tenant, user};

/// Writes are invisible outside the unit of work until it commits.
pub async fn commit_makes_writes_visible(users: Arc<dyn UserRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let ada = user(t, "ada@example.com");
    let mut tx = uow.begin().await.unwrap();
    users.create(&mut tx, &ada).await.unwrap();
    assert_eq!(
        users.find_by_id(t, ada.id).await.unwrap(),
        None,
        "uncommitted write leaked"
    );
    tx.commit().await.unwrap();
    assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), Some(ada));
}

/// What a rolled-back or dropped unit of work wrote never appears: rows,
/// audit entries and outbox events alike.
pub async fn rollback_and_drop_discard_writes(
    users: Arc<dyn UserRepository>,
    audit: Arc<dyn AuditStore>,
    outbox: Arc<dyn Outbox>,
    uow: Arc<dyn UnitOfWork>,
) {
    let t = tenant();
    let pending_before = outbox.pending().await.unwrap();
    for rollback in [true, false] {
        let ada = user(t, "ada@example.com");
        let mut tx = uow.begin().await.unwrap();
        users.create(&mut tx, &ada).await.unwrap();
        audit
            .append(&mut tx, &audit_entry(t, "user.created", now()))
            .await
            .unwrap();
        outbox
            .enqueue(&mut tx, "users", &event(t, "user.created", None))
            .await
            .unwrap();
        if rollback {
            tx.rollback().await.unwrap();
        } else {
            drop(tx);
        }
        assert_eq!(users.find_by_id(t, ada.id).await.unwrap(), None, "rollback={rollback}");
        let page = audit
            .query(t, &AuditFilter::default(), &PageRequest::default())
            .await
            .unwrap();
        assert!(page.items.is_empty(), "rollback={rollback}");
    }
    assert_eq!(outbox.pending().await.unwrap(), pending_before);
    let claimed = outbox.claim(100, Duration::from_secs(60)).await.unwrap();
    assert!(
        claimed.iter().all(|m| m.event.tenant_id != t),
        "a discarded event was claimed"
    );

    // The discarded units of work left nothing behind that blocks the next one.
    let ada = user(t, "ada@example.com");
    committed(&*uow, async |tx| users.create(tx, &ada).await).await.unwrap();
    assert!(users.find_by_id(t, ada.id).await.unwrap().is_some());
}

/// A unit of work reads its own writes; after rollback they are gone.
pub async fn tx_sees_own_writes(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let token = refresh_token(UserId::new(), t, TokenFamilyId::new(), TimeDelta::days(1));
    let mut tx = uow.begin().await.unwrap();
    refresh.insert(&mut tx, &token).await.unwrap();
    assert_eq!(
        refresh.find_for_update(&mut tx, &token.token_hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        refresh.find_by_id(&mut tx, token.id).await.unwrap(),
        Some(token.clone())
    );
    tx.rollback().await.unwrap();

    let mut tx = uow.begin().await.unwrap();
    assert_eq!(refresh.find_for_update(&mut tx, &token.token_hash).await.unwrap(), None);
    tx.rollback().await.unwrap();
}

/// Two units of work racing to rotate one refresh token: exactly one wins,
/// the other sees the rotation (`find_for_update` locks the row).
pub async fn concurrent_rotations_serialise(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let family = TokenFamilyId::new();
    let user_id = UserId::new();
    let token = refresh_token(user_id, t, family, TimeDelta::days(1));
    committed(&*uow, async |tx| refresh.insert(tx, &token).await)
        .await
        .unwrap();

    let race = |refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>, hash| async move {
        let mut tx = uow.begin().await?;
        let Some(current) = refresh.find_for_update(&mut tx, &hash).await? else {
            return Err(StoreError::NotFound);
        };
        // Widens the window in which an unserialised store would let both in.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if current.rotated_at.is_some() {
            tx.rollback().await?;
            return Ok(false);
        }
        let successor = refresh_token(
            current.user_id,
            current.tenant_id,
            current.family_id,
            TimeDelta::days(1),
        );
        refresh.insert(&mut tx, &successor).await?;
        refresh.mark_rotated(&mut tx, current.id, successor.id, now()).await?;
        tx.commit().await?;
        Ok::<bool, StoreError>(true)
    };
    let a = tokio::spawn(race(refresh.clone(), uow.clone(), token.token_hash.clone()));
    let b = tokio::spawn(race(refresh.clone(), uow.clone(), token.token_hash.clone()));
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert!(a ^ b, "exactly one rotation must win (a={a}, b={b})");

    let mut tx = uow.begin().await.unwrap();
    let rotated = refresh.find_by_id(&mut tx, token.id).await.unwrap().unwrap();
    let successor = refresh
        .find_by_id(&mut tx, rotated.replaced_by.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(successor.family_id, family);
    // Only the winner's successor exists: one live token in the family.
    assert_eq!(refresh.revoke_family(&mut tx, family, now()).await.unwrap(), 1);
    tx.rollback().await.unwrap();
}
