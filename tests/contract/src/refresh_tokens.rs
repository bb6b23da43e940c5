//! Refresh tokens: rotation, revocation per token, family and user, expiry.

use std::sync::Arc;

use chrono::TimeDelta;
use platform_ports::StoreError;
use platform_ports::auth::RefreshTokenRecord;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::model::{RefreshTokenId, TokenFamilyId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, now, refresh_token, tenant, token_hash};

async fn stored(
    refresh: &dyn RefreshTokenStore,
    uow: &dyn UnitOfWork,
    id: RefreshTokenId,
) -> Option<RefreshTokenRecord> {
    committed(uow, async |tx| refresh.find_by_id(tx, id).await)
        .await
        .unwrap()
}

/// Insert, find by hash, rotate; a hash is stored once.
pub async fn refresh_token_rotation(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let family = TokenFamilyId::new();
    let first = refresh_token(UserId::new(), t, family, TimeDelta::days(30));
    let second = refresh_token(first.user_id, t, family, TimeDelta::days(30));
    committed(&*uow, async |tx| refresh.insert(tx, &first).await)
        .await
        .unwrap();
    let dup = RefreshTokenRecord {
        id: RefreshTokenId::new(),
        ..first.clone()
    };
    let conflict = committed(&*uow, async |tx| refresh.insert(tx, &dup).await).await;
    assert!(matches!(conflict, Err(StoreError::Conflict(_))), "{conflict:?}");

    let at = now();
    committed(&*uow, async |tx| {
        let found = refresh.find_for_update(tx, &first.token_hash).await?;
        assert_eq!(found.as_ref(), Some(&first));
        refresh.insert(tx, &second).await?;
        refresh.mark_rotated(tx, first.id, second.id, at).await
    })
    .await
    .unwrap();
    let rotated = stored(&*refresh, &*uow, first.id).await.unwrap();
    assert_eq!(
        (rotated.rotated_at, rotated.replaced_by, rotated.revoked_at),
        (Some(at), Some(second.id), None)
    );
    assert_eq!(stored(&*refresh, &*uow, second.id).await, Some(second.clone()));

    let unknown = committed(&*uow, async |tx| {
        refresh.mark_rotated(tx, RefreshTokenId::new(), second.id, at).await
    })
    .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    let unknown = committed(&*uow, async |tx| refresh.revoke(tx, RefreshTokenId::new(), at).await).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
    committed(&*uow, async |tx| refresh.revoke(tx, second.id, at).await)
        .await
        .unwrap();
    assert_eq!(stored(&*refresh, &*uow, second.id).await.unwrap().revoked_at, Some(at));
    let committed_hash = committed(&*uow, async |tx| refresh.find_for_update(tx, &token_hash()).await)
        .await
        .unwrap();
    assert_eq!(committed_hash, None);
}

/// Revoking a family stamps all its tokens and counts the live ones
/// (neither revoked, rotated nor expired); other families are untouched.
pub async fn refresh_token_revoke_family(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let user = UserId::new();
    let family = TokenFamilyId::new();
    let rotated = RefreshTokenRecord {
        rotated_at: Some(now()),
        ..refresh_token(user, t, family, TimeDelta::days(1))
    };
    let live = refresh_token(user, t, family, TimeDelta::days(1));
    let expired = refresh_token(user, t, family, TimeDelta::seconds(-10));
    let other = refresh_token(user, t, TokenFamilyId::new(), TimeDelta::days(1));
    committed(&*uow, async |tx| {
        for token in [&rotated, &live, &expired, &other] {
            refresh.insert(tx, token).await?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let at = now();
    let count = committed(&*uow, async |tx| refresh.revoke_family(tx, family, at).await)
        .await
        .unwrap();
    assert_eq!(count, 1);
    for token in [&rotated, &live, &expired] {
        assert_eq!(stored(&*refresh, &*uow, token.id).await.unwrap().revoked_at, Some(at));
    }
    assert_eq!(stored(&*refresh, &*uow, other.id).await.unwrap().revoked_at, None);
    let again = committed(&*uow, async |tx| refresh.revoke_family(tx, family, now()).await)
        .await
        .unwrap();
    assert_eq!(again, 0);
}

/// Revoking a user's tokens spares the kept family and other users.
pub async fn refresh_token_revoke_user(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let user = UserId::new();
    let (kept, other_session) = (TokenFamilyId::new(), TokenFamilyId::new());
    let current = refresh_token(user, t, kept, TimeDelta::days(1));
    let laptop = refresh_token(user, t, other_session, TimeDelta::days(1));
    let phone = refresh_token(user, t, TokenFamilyId::new(), TimeDelta::days(1));
    let someone_else = refresh_token(UserId::new(), t, TokenFamilyId::new(), TimeDelta::days(1));
    committed(&*uow, async |tx| {
        for token in [&current, &laptop, &phone, &someone_else] {
            refresh.insert(tx, token).await?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let count = committed(&*uow, async |tx| refresh.revoke_user(tx, user, Some(kept), now()).await)
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(stored(&*refresh, &*uow, current.id).await.unwrap().revoked_at, None);
    assert!(stored(&*refresh, &*uow, laptop.id).await.unwrap().revoked_at.is_some());
    assert!(stored(&*refresh, &*uow, phone.id).await.unwrap().revoked_at.is_some());
    assert_eq!(
        stored(&*refresh, &*uow, someone_else.id).await.unwrap().revoked_at,
        None
    );

    let rest = committed(&*uow, async |tx| refresh.revoke_user(tx, user, None, now()).await)
        .await
        .unwrap();
    assert_eq!(rest, 1);
    assert!(stored(&*refresh, &*uow, current.id).await.unwrap().revoked_at.is_some());
}

/// `delete_expired` removes only records that expired before the cut-off.
pub async fn refresh_tokens_delete_expired(refresh: Arc<dyn RefreshTokenStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let old = refresh_token(UserId::new(), t, TokenFamilyId::new(), TimeDelta::hours(-2));
    let fresh = refresh_token(UserId::new(), t, TokenFamilyId::new(), TimeDelta::hours(2));
    committed(&*uow, async |tx| {
        refresh.insert(tx, &old).await?;
        refresh.insert(tx, &fresh).await
    })
    .await
    .unwrap();
    assert!(refresh.delete_expired(now() - TimeDelta::hours(1)).await.unwrap() >= 1);
    assert_eq!(stored(&*refresh, &*uow, old.id).await, None);
    assert_eq!(stored(&*refresh, &*uow, fresh.id).await, Some(fresh.clone()));
    let by_hash = committed(&*uow, async |tx| refresh.find_for_update(tx, &old.token_hash).await)
        .await
        .unwrap();
    assert_eq!(by_hash, None);
}
