//! The API-key use cases against mocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::TimeDelta;
use platform_ports::auth::{MockOpaqueTokens, TokenHash};
use platform_ports::authz::{MockPermissionResolver, Permission};
use platform_ports::cache::MockCache;
use platform_ports::identity::{ApiKey, ApiKeyError, ApiKeyService, MockApiKeyRepository, NewApiKey};
use platform_ports::model::{ApiKeyGrant, ApiKeyId, SecretString, UserId};
use platform_ports::ratelimit::{MockRateLimiter, RateLimited};

use super::{API_KEY_CREATED, ApiKeyManager, ApiKeySettings};
use crate::testing::{Log, TENANT, anonymous, as_user, counting_ids, fixed_clock, now};

const KEY: &str = "plt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn perm(value: &str) -> Permission {
    Permission::parse(value).unwrap()
}

fn stored(creator: UserId, scopes: &[&str]) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: TENANT,
        name: "k".into(),
        prefix: KEY[..12].into(),
        key_hash: TokenHash("h".into()),
        scopes: scopes.iter().map(|s| perm(s)).collect(),
        created_by: creator,
        created_at: now(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    }
}

fn opaque() -> MockOpaqueTokens {
    let mut opaque = MockOpaqueTokens::new();
    opaque.expect_hash().returning(|_| TokenHash("h".into()));
    opaque.expect_generate().returning(|| SecretString::new("B".repeat(43)));
    opaque
}

/// A cache that always misses and accepts writes.
fn empty_cache() -> MockCache {
    let mut cache = MockCache::new();
    cache.expect_get().returning(|_| Ok(None));
    cache.expect_set().returning(|_, _, _| Ok(()));
    cache.expect_delete().returning(|_| Ok(()));
    cache
}

fn holding(permissions: &[&str]) -> MockPermissionResolver {
    let held: Vec<Permission> = permissions.iter().map(|p| perm(p)).collect();
    let mut resolver = MockPermissionResolver::new();
    resolver
        .expect_user_permissions()
        .returning(move |_, _| Ok(held.clone()));
    resolver
}

fn manager(
    keys: MockApiKeyRepository,
    resolver: MockPermissionResolver,
    limiter: MockRateLimiter,
    log: &Log,
) -> ApiKeyManager {
    ApiKeyManager::new(
        Arc::new(log.unit_of_work()),
        Arc::new(keys),
        Arc::new(resolver),
        Arc::new(empty_cache()),
        Arc::new(log.audit_store()),
        Arc::new(log.outbox()),
        Arc::new(opaque()),
        Arc::new(limiter),
        Arc::new(fixed_clock()),
        Arc::new(counting_ids()),
        ApiKeySettings::default(),
    )
}

fn log() -> Log {
    Log::on_topic(crate::support::IDENTITY_TOPIC)
}

#[tokio::test]
async fn the_grant_is_the_scopes_the_creator_still_holds_and_use_is_recorded_once() {
    let creator = UserId::new();
    let key = stored(creator, &["blog.post.read", "blog.post.create"]);
    let mut keys = MockApiKeyRepository::new();
    let found = key.clone();
    keys.expect_find_by_hash().returning(move |_| Ok(Some(found.clone())));
    let touches = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&touches);
    keys.expect_touch().returning(move |_, _, _, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    });
    let mut limiter = MockRateLimiter::new();
    limiter.expect_check().never();
    let log = log();
    // The creator lost create and gained delete since.
    let manager = manager(keys, holding(&["blog.post.read", "blog.post.delete"]), limiter, &log);

    for _ in 0..3 {
        let actor = manager.authenticate(&anonymous(), KEY).await.unwrap();
        assert_eq!(actor.user_id, creator);
        assert_eq!(actor.tenant_id, TENANT);
        assert_eq!(
            actor.api_key,
            Some(ApiKeyGrant {
                key_id: key.id,
                permissions: vec![perm("blog.post.read")],
            })
        );
    }
    assert_eq!(touches.load(Ordering::SeqCst), 1, "last_used_at written per request");
}

#[tokio::test]
async fn revoked_expired_unknown_and_malformed_keys_fail_and_count() {
    let revoked = ApiKey {
        revoked_at: Some(now()),
        ..stored(UserId::new(), &["a.b"])
    };
    let expired = ApiKey {
        expires_at: Some(now() - TimeDelta::seconds(1)),
        ..stored(UserId::new(), &["a.b"])
    };
    for found in [Some(revoked), Some(expired), None] {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_hash().returning(move |_| Ok(found.clone()));
        keys.expect_touch().never();
        let mut limiter = MockRateLimiter::new();
        limiter.expect_check().times(1).returning(|_, _, _| Ok(()));
        let manager = manager(keys, holding(&["a.b"]), limiter, &log());
        let err = manager.authenticate(&anonymous(), KEY).await.unwrap_err();
        assert!(matches!(err, ApiKeyError::InvalidKey), "{err:?}");
    }

    // Malformed: refused before any lookup; over the limit: 429.
    let mut keys = MockApiKeyRepository::new();
    keys.expect_find_by_hash().never();
    let mut limiter = MockRateLimiter::new();
    limiter.expect_check().returning(|_, _, _| {
        Err(RateLimited {
            retry_after: Duration::from_secs(9),
        })
    });
    let manager = manager(keys, holding(&[]), limiter, &log());
    let err = manager.authenticate(&anonymous(), "plt_short").await.unwrap_err();
    assert!(
        matches!(err, ApiKeyError::RateLimited { retry_after } if retry_after == Duration::from_secs(9)),
        "{err:?}"
    );
}

#[tokio::test]
async fn create_stores_a_hash_and_returns_the_key_once() {
    let creator = UserId::new();
    let mut keys = MockApiKeyRepository::new();
    keys.expect_insert()
        .withf(|_, key| key.key_hash == TokenHash("h".into()) && key.prefix == "plt_BBBBBBBB")
        .times(1)
        .returning(|_, _| Ok(()));
    let log = log();
    let manager = manager(keys, holding(&["blog.post.read", "x.y"]), MockRateLimiter::new(), &log);
    let input = NewApiKey {
        name: "  sync  ".into(),
        scopes: vec![perm("x.y"), perm("blog.post.read"), perm("x.y")],
        expires_at: Some(now() + TimeDelta::days(1)),
    };
    let created = manager.create(&as_user(creator, None), input).await.unwrap();
    assert_eq!(created.secret.expose(), format!("plt_{}", "B".repeat(43)));
    assert_eq!(created.key.name, "sync");
    assert_eq!(created.key.scopes, [perm("blog.post.read"), perm("x.y")]);
    assert_eq!(created.key.created_by, creator);
    assert_eq!(log.audit(API_KEY_CREATED).actor_id, Some(creator));
}

#[tokio::test]
async fn create_refuses_scopes_not_held_and_keys_as_creators() {
    let user = UserId::new();
    let mut keys = MockApiKeyRepository::new();
    keys.expect_insert().never();
    let log = log();
    let manager = manager(keys, holding(&["blog.post.read"]), MockRateLimiter::new(), &log);
    let input = NewApiKey {
        name: "k".into(),
        scopes: vec![perm("blog.post.read"), perm("blog.post.create")],
        expires_at: None,
    };
    let err = manager.create(&as_user(user, None), input.clone()).await.unwrap_err();
    assert!(
        matches!(&err, ApiKeyError::ScopeNotHeld(m) if *m == [perm("blog.post.create")]),
        "{err:?}"
    );

    let mut by_key = as_user(user, None);
    if let Some(actor) = by_key.actor.as_mut() {
        actor.api_key = Some(ApiKeyGrant {
            key_id: ApiKeyId::new(),
            permissions: vec![perm("blog.post.read")],
        });
    }
    let err = manager.create(&by_key, input).await.unwrap_err();
    assert!(matches!(err, ApiKeyError::Forbidden(_)), "{err:?}");
    log.assert_untouched();
}
