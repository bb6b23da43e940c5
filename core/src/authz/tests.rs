//! The resolver and the authorizer against mockall mocks.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use platform_ports::StoreError;
use platform_ports::authz::Permission;
use platform_ports::authz::{Authorizer, AuthzError, MockPermissionResolver, PermissionResolver};
use platform_ports::cache::{CacheError, MockCache};
use platform_ports::identity::MockRoleRepository;
use platform_ports::identity::Role;
use platform_ports::model::{Actor, RequestContext, RoleId, TenantId, UserId};

use super::{CachedPermissionResolver, PermissionCacheSettings, RbacAuthorizer, permissions_cache_key};

const TTL: Duration = Duration::from_secs(120);

fn settings(enabled: bool) -> PermissionCacheSettings {
    PermissionCacheSettings { enabled, ttl: TTL }
}

fn perm(value: &str) -> Permission {
    Permission::parse(value).unwrap()
}

fn role(permissions: &[&str]) -> Role {
    Role {
        id: RoleId::new(),
        tenant_id: TenantId::DEFAULT,
        name: "r".into(),
        description: None,
        permissions: permissions.iter().map(|p| perm(p)).collect(),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

/// A repository giving `user` two roles whose union is `a.x`, `b.y`, `c.z`
/// (with a duplicate, unsorted), asked once.
fn repository_roles(user: UserId) -> MockRoleRepository {
    let mut roles = MockRoleRepository::new();
    roles
        .expect_roles_of_user()
        .withf(move |tenant, id| *tenant == TenantId::DEFAULT && *id == user)
        .times(1)
        .returning(|_, _| Ok(vec![role(&["c.z", "a.x"]), role(&["b.y", "a.x"])]));
    roles
}

fn union() -> Vec<Permission> {
    vec![perm("a.x"), perm("b.y"), perm("c.z")]
}

fn resolver(cache: MockCache, roles: MockRoleRepository, enabled: bool) -> CachedPermissionResolver {
    CachedPermissionResolver::new(Arc::new(cache), Arc::new(roles), settings(enabled))
}

/// The permissions of `user` as the resolver over these mocks answers them.
async fn permissions_of(user: UserId, cache: MockCache, roles: MockRoleRepository, enabled: bool) -> Vec<Permission> {
    resolver(cache, roles, enabled)
        .user_permissions(TenantId::DEFAULT, user)
        .await
        .unwrap()
}

#[tokio::test]
async fn cache_hit_skips_the_repository() {
    let user = UserId::new();
    let key = permissions_cache_key(user);
    assert_eq!(key, format!("user:{user}:permissions"));
    let mut cache = MockCache::new();
    cache
        .expect_get()
        .withf(move |k| k == key)
        .times(1)
        .returning(|_| Ok(Some(br#"["blog.post.read","user.read"]"#.to_vec())));
    cache.expect_set().never();
    let mut roles = MockRoleRepository::new();
    roles.expect_roles_of_user().never();

    let permissions = permissions_of(user, cache, roles, true).await;

    assert_eq!(permissions, [perm("blog.post.read"), perm("user.read")]);
}

#[tokio::test]
async fn cache_miss_loads_the_sorted_union_and_stores_it() {
    let user = UserId::new();
    let key = permissions_cache_key(user);
    let mut cache = MockCache::new();
    cache.expect_get().times(1).returning(|_| Ok(None));
    cache
        .expect_set()
        .withf(move |k, value, ttl| k == key && value.as_slice() == br#"["a.x","b.y","c.z"]"# && *ttl == Some(TTL))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let roles = repository_roles(user);

    let permissions = permissions_of(user, cache, roles, true).await;

    assert_eq!(permissions, union());
}

#[tokio::test]
async fn cache_down_still_answers_from_the_repository() {
    let user = UserId::new();
    let mut cache = MockCache::new();
    cache
        .expect_get()
        .returning(|_| Err(CacheError::Backend("connection refused".into())));
    cache
        .expect_set()
        .returning(|_, _, _| Err(CacheError::Backend("connection refused".into())));
    let roles = repository_roles(user);

    let allowed = resolver(cache, roles, true)
        .has_permission(TenantId::DEFAULT, user, &perm("b.y"))
        .await
        .unwrap();

    assert!(allowed);
}

#[tokio::test]
async fn unreadable_cache_entry_is_reloaded_and_overwritten() {
    let user = UserId::new();
    let mut cache = MockCache::new();
    cache
        .expect_get()
        .returning(|_| Ok(Some(b"[\"Not A Permission\"]".to_vec())));
    cache.expect_set().times(1).returning(|_, _, _| Ok(()));
    let roles = repository_roles(user);

    let permissions = permissions_of(user, cache, roles, true).await;

    assert_eq!(permissions, union());
}

#[tokio::test]
async fn disabled_cache_is_never_touched() {
    let user = UserId::new();
    let mut cache = MockCache::new();
    cache.expect_get().never();
    cache.expect_set().never();
    let roles = repository_roles(user);

    let permissions = permissions_of(user, cache, roles, false).await;

    assert_eq!(permissions, union());
}

#[tokio::test]
async fn repository_error_is_backend() {
    let mut cache = MockCache::new();
    cache.expect_get().returning(|_| Ok(None));
    cache.expect_set().never();
    let mut roles = MockRoleRepository::new();
    roles
        .expect_roles_of_user()
        .returning(|_, _| Err(StoreError::backend("down")));

    let err = resolver(cache, roles, true)
        .has_permission(TenantId::DEFAULT, UserId::new(), &perm("a.x"))
        .await
        .unwrap_err();

    assert!(matches!(err, AuthzError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn has_permission_checks_membership() {
    let user = UserId::new();
    let mut cache = MockCache::new();
    cache.expect_get().returning(|_| Ok(Some(br#"["a.x","b.y"]"#.to_vec())));
    let resolver = resolver(cache, MockRoleRepository::new(), true);

    assert!(
        resolver
            .has_permission(TenantId::DEFAULT, user, &perm("a.x"))
            .await
            .unwrap()
    );
    assert!(
        !resolver
            .has_permission(TenantId::DEFAULT, user, &perm("c.z"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn invalidate_deletes_the_key() {
    let user = UserId::new();
    let key = permissions_cache_key(user);
    let mut cache = MockCache::new();
    cache
        .expect_delete()
        .withf(move |k| k == key)
        .times(1)
        .returning(|_| Ok(()));

    resolver(cache, MockRoleRepository::new(), true)
        .invalidate(user)
        .await
        .unwrap();
}

#[tokio::test]
async fn failed_invalidation_is_backend() {
    let mut cache = MockCache::new();
    cache
        .expect_delete()
        .returning(|_| Err(CacheError::Backend("down".into())));

    let err = resolver(cache, MockRoleRepository::new(), true)
        .invalidate(UserId::new())
        .await
        .unwrap_err();

    assert!(matches!(err, AuthzError::Backend(_)), "{err:?}");
}

fn authenticated(user: UserId, tenant: TenantId) -> RequestContext {
    RequestContext {
        actor: Some(Actor {
            user_id: user,
            roles: vec![],
            tenant_id: tenant,
            session_id: None,
            api_key: None,
        }),
        tenant_id: tenant,
        ..RequestContext::default()
    }
}

fn authorizer_answering(user: UserId, tenant: TenantId, answer: fn() -> Result<bool, AuthzError>) -> RbacAuthorizer {
    let mut resolver = MockPermissionResolver::new();
    resolver
        .expect_has_permission()
        .withf(move |t, u, p| *t == tenant && *u == user && p.as_str() == "blog.post.create")
        .times(1)
        .returning(move |_, _, _| answer());
    RbacAuthorizer::new(Arc::new(resolver))
}

#[tokio::test]
async fn authorizer_without_an_actor_is_unauthenticated() {
    let mut resolver = MockPermissionResolver::new();
    resolver.expect_has_permission().never();
    let authorizer = RbacAuthorizer::new(Arc::new(resolver));

    let err = authorizer
        .authorize(&RequestContext::default(), &perm("blog.post.create"))
        .await
        .unwrap_err();

    assert!(matches!(err, AuthzError::Unauthenticated), "{err:?}");
}

#[tokio::test]
async fn authorizer_allows_and_forbids_as_the_resolver_says() {
    let (user, tenant) = (UserId::new(), TenantId(uuid::Uuid::from_u128(7)));
    let ctx = authenticated(user, tenant);
    let permission = perm("blog.post.create");

    authorizer_answering(user, tenant, || Ok(true))
        .authorize(&ctx, &permission)
        .await
        .unwrap();

    let err = authorizer_answering(user, tenant, || Ok(false))
        .authorize(&ctx, &permission)
        .await
        .unwrap_err();
    assert!(matches!(&err, AuthzError::Forbidden(p) if *p == permission), "{err:?}");

    let err = authorizer_answering(user, tenant, || {
        Err(AuthzError::Backend("cache and database down".into()))
    })
    .authorize(&ctx, &permission)
    .await
    .unwrap_err();
    assert!(matches!(err, AuthzError::Backend(_)), "{err:?}");
}
