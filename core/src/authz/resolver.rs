//! A user's permissions: the union of their roles' permissions, cached.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::authz::Permission;
use platform_ports::authz::{AuthzError, PermissionResolver};
use platform_ports::cache::Cache;
use platform_ports::identity::RoleRepository;
use platform_ports::model::{TenantId, UserId};

/// Whether and how long resolved permissions are cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionCacheSettings {
    /// When false, every check reads the roles from the repository.
    pub enabled: bool,
    /// How long a user's resolved permissions stay cached.
    pub ttl: Duration,
}

impl Default for PermissionCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl: Duration::from_secs(300),
        }
    }
}

/// The cache key of a user's permissions.
#[must_use]
pub fn permissions_cache_key(user_id: UserId) -> String {
    // Built by hand: it runs on every authorized request, and `format!`
    // drives the UUID through `core::fmt`.
    let mut key = String::with_capacity(53);
    key.push_str("user:");
    key.push_str(user_id.0.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
    key.push_str(":permissions");
    key
}

/// Resolves permissions from the user's roles, through the cache.
///
/// The cache only saves work: when it fails, answers come from the
/// repository, so a cache outage never denies or fails a request.
#[derive(shaku::Component)]
#[shaku(interface = PermissionResolver)]
pub struct CachedPermissionResolver {
    #[shaku(inject)]
    cache: Arc<dyn Cache>,
    #[shaku(inject)]
    roles: Arc<dyn RoleRepository>,
    /// Whether and how long to cache.
    #[shaku(default)]
    settings: PermissionCacheSettings,
}

impl CachedPermissionResolver {
    /// A resolver reading `roles` through `cache`.
    #[must_use]
    pub fn new(cache: Arc<dyn Cache>, roles: Arc<dyn RoleRepository>, settings: PermissionCacheSettings) -> Self {
        Self { cache, roles, settings }
    }

    /// The cached permissions, `None` on a miss or when the cache fails.
    async fn cached(&self, key: &str) -> Option<Vec<Permission>> {
        let bytes = match self.cache.get(key).await {
            Ok(bytes) => bytes?,
            Err(err) => {
                tracing::warn!(error = %err, key, "permission cache unavailable; reading roles");
                return None;
            }
        };
        match serde_json::from_slice(&bytes) {
            Ok(permissions) => Some(permissions),
            Err(err) => {
                // Overwritten below with what the repository says.
                tracing::warn!(error = %err, key, "unreadable cached permissions; reloading");
                None
            }
        }
    }

    async fn store(&self, key: &str, permissions: &[Permission]) {
        let bytes = match serde_json::to_vec(permissions) {
            Ok(bytes) => bytes,
            Err(err) => {
                tracing::warn!(error = %err, key, "could not encode permissions for the cache");
                return;
            }
        };
        if let Err(err) = self.cache.set(key, bytes, Some(self.settings.ttl)).await {
            tracing::warn!(error = %err, key, "could not cache permissions");
        }
    }

    async fn load(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Permission>, AuthzError> {
        let roles = self
            .roles
            .roles_of_user(tenant, user_id)
            .await
            .map_err(|err| AuthzError::Backend(err.into()))?;
        let permissions: BTreeSet<Permission> = roles.into_iter().flat_map(|role| role.permissions).collect();
        Ok(permissions.into_iter().collect())
    }
}

#[async_trait]
impl PermissionResolver for CachedPermissionResolver {
    async fn has_permission(
        &self,
        tenant: TenantId,
        user_id: UserId,
        permission: &Permission,
    ) -> Result<bool, AuthzError> {
        // The hot path (every authorized request): answer from the cached
        // JSON bytes without building the list. Permissions never need JSON
        // escaping (`[a-z0-9_.]`), so the quoted strings are the elements.
        if self.settings.enabled {
            let key = permissions_cache_key(user_id);
            match self.cache.get(&key).await {
                Ok(Some(bytes)) if bytes.first() == Some(&b'[') && bytes.last() == Some(&b']') => {
                    let wanted = permission.as_str().as_bytes();
                    return Ok(bytes
                        .split(|b| *b == b'"')
                        .skip(1)
                        .step_by(2)
                        .any(|element| element == wanted));
                }
                Ok(_) => {}
                Err(err) => {
                    // Cache down: answer from the repository (never deny for that).
                    tracing::warn!(error = %err, key, "permission cache unavailable; reading roles");
                    return Ok(self.load(tenant, user_id).await?.contains(permission));
                }
            }
        }
        let permissions = self.user_permissions(tenant, user_id).await?;
        Ok(permissions.contains(permission))
    }

    async fn user_permissions(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<Permission>, AuthzError> {
        if !self.settings.enabled {
            return self.load(tenant, user_id).await;
        }
        let key = permissions_cache_key(user_id);
        if let Some(permissions) = self.cached(&key).await {
            return Ok(permissions);
        }
        let permissions = self.load(tenant, user_id).await?;
        self.store(&key, &permissions).await;
        Ok(permissions)
    }

    async fn invalidate(&self, user_id: UserId) -> Result<(), AuthzError> {
        // Also when caching is off: entries written before it was turned off
        // must not outlive a role change.
        self.cache
            .delete(&permissions_cache_key(user_id))
            .await
            .map_err(|err| AuthzError::Backend(err.into()))
    }
}
