//! API keys: stored and found by hash across tenants, by id and in lists
//! only within their tenant; revocation keeps its first time; `touch`
//! writes at most once per interval.

use std::sync::Arc;

use chrono::TimeDelta;
use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::identity::{ApiKey, ApiKeyRepository};
use platform_ports::model::{ApiKeyId, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, committed, now, tenant, token_hash};

/// A live key of `tenant` created at `created_at`.
pub fn api_key(tenant: TenantId, created_at: chrono::DateTime<chrono::Utc>) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: "sync job".to_owned(),
        prefix: "plt_abcdefgh".to_owned(),
        key_hash: token_hash(),
        scopes: vec![
            Permission::declare("blog.post.read"),
            Permission::declare("identity.user.read"),
        ],
        created_by: UserId::new(),
        created_at,
        expires_at: Some(created_at + TimeDelta::days(30)),
        last_used_at: None,
        revoked_at: None,
    }
}

/// Insert, then find by hash (any tenant) and by id (own tenant only); a
/// hash is stored once.
pub async fn api_key_round_trip(keys: Arc<dyn ApiKeyRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let key = api_key(t, now());
    committed(&*uow, async |tx| keys.insert(tx, &key).await).await.unwrap();

    assert_eq!(keys.find_by_hash(&key.key_hash).await.unwrap(), Some(key.clone()));
    assert_eq!(keys.find_by_id(t, key.id).await.unwrap(), Some(key.clone()));
    assert_eq!(keys.find_by_id(tenant(), key.id).await.unwrap(), None);
    assert_eq!(keys.find_by_hash(&token_hash()).await.unwrap(), None);

    let dup = ApiKey {
        id: ApiKeyId::new(),
        ..key.clone()
    };
    let conflict = committed(&*uow, async |tx| keys.insert(tx, &dup).await).await;
    assert!(matches!(conflict, Err(StoreError::Conflict(_))), "{conflict:?}");

    // Never expiring and unscoped-by-time keys round-trip too.
    let forever = ApiKey {
        expires_at: None,
        ..api_key(t, now())
    };
    committed(&*uow, async |tx| keys.insert(tx, &forever).await)
        .await
        .unwrap();
    assert_eq!(keys.find_by_id(t, forever.id).await.unwrap(), Some(forever));

    // A rolled-back insert leaves nothing.
    let lost = api_key(t, now());
    let failed: Result<(), StoreError> = committed(&*uow, async |tx| {
        keys.insert(tx, &lost).await?;
        Err(StoreError::Conflict("rollback".into()))
    })
    .await;
    assert!(failed.is_err());
    assert_eq!(keys.find_by_hash(&lost.key_hash).await.unwrap(), None);
}

/// Lists hold the tenant's keys only, newest first.
pub async fn api_keys_listed_per_tenant(keys: Arc<dyn ApiKeyRepository>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let older = api_key(a, at(10));
    let newer = api_key(a, at(20));
    let other = api_key(b, at(15));
    committed(&*uow, async |tx| {
        keys.insert(tx, &older).await?;
        keys.insert(tx, &other).await?;
        keys.insert(tx, &newer).await
    })
    .await
    .unwrap();
    let listed: Vec<ApiKeyId> = keys.list(a).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(listed, [newer.id, older.id]);
    let listed: Vec<ApiKeyId> = keys.list(b).await.unwrap().into_iter().map(|k| k.id).collect();
    assert_eq!(listed, [other.id]);
    assert!(keys.list(tenant()).await.unwrap().is_empty());
}

/// Revocation stamps the key once, only in its tenant.
pub async fn api_key_revocation(keys: Arc<dyn ApiKeyRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let key = api_key(t, now());
    committed(&*uow, async |tx| keys.insert(tx, &key).await).await.unwrap();

    let elsewhere = committed(&*uow, async |tx| keys.revoke(tx, tenant(), key.id, now()).await).await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound)), "{elsewhere:?}");
    let unknown = committed(&*uow, async |tx| keys.revoke(tx, t, ApiKeyId::new(), now()).await).await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");

    let first = now();
    let revoked = committed(&*uow, async |tx| keys.revoke(tx, t, key.id, first).await)
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(first));
    let again = committed(&*uow, async |tx| {
        keys.revoke(tx, t, key.id, first + TimeDelta::seconds(5)).await
    })
    .await
    .unwrap();
    assert_eq!(again.revoked_at, Some(first), "a second revocation moved the time");
    let found = keys.find_by_hash(&key.key_hash).await.unwrap().unwrap();
    assert_eq!(found.revoked_at, Some(first));
    assert!(!found.is_active(now()));
}

/// `touch` records a use unless one is already recorded since `not_before`.
pub async fn api_key_touch_is_throttled(keys: Arc<dyn ApiKeyRepository>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let key = api_key(t, at(0));
    committed(&*uow, async |tx| keys.insert(tx, &key).await).await.unwrap();

    assert!(keys.touch(t, key.id, at(100), at(40)).await.unwrap());
    // Within the interval of the recorded use: no write.
    assert!(!keys.touch(t, key.id, at(130), at(70)).await.unwrap());
    assert_eq!(
        keys.find_by_id(t, key.id).await.unwrap().unwrap().last_used_at,
        Some(at(100))
    );
    // Past it: written.
    assert!(keys.touch(t, key.id, at(200), at(140)).await.unwrap());
    assert_eq!(
        keys.find_by_id(t, key.id).await.unwrap().unwrap().last_used_at,
        Some(at(200))
    );
    // Another tenant cannot touch it.
    assert!(!keys.touch(tenant(), key.id, at(500), at(440)).await.unwrap());
}
