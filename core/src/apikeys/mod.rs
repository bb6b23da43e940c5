//! API keys ([`ApiKeyManager`]): created by a user with scopes out of their
//! own permissions, shown once, stored as a SHA-256 hash, looked up through
//! the shared cache, revoked with immediate effect.
//!
//! Why SHA-256 and not argon2id: a key carries 256 random bits, so there is
//! no dictionary to slow down and a fast hash is as strong as a slow one;
//! and the lookup runs on every request, where argon2id's deliberate cost
//! (and its salt, which would forbid lookup by hash) would be paid each time.

mod authenticate;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::auth::{OpaqueTokens, TokenHash};
use platform_ports::authz::{Permission, PermissionResolver};
use platform_ports::cache::Cache;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Outbox;
use platform_ports::identity::{
    API_KEY_DISPLAY_LEN, API_KEY_PREFIX, ApiKey, ApiKeyError, ApiKeyRepository, ApiKeyService, CreatedApiKey, NewApiKey,
};
use platform_ports::model::{
    Actor, ApiKeyId, FieldError, RequestContext, SecretString, TenantId, TextKind, ValidationErrors, check_storable,
};
use platform_ports::persistence::UnitOfWork;
use platform_ports::ratelimit::RateLimiter;

use crate::identity::{EVENT_SOURCE, events};
use crate::meta;
use crate::support::{IDENTITY_TOPIC, audit_entry, event};
use crate::unit_of_work::run_in_unit;

/// Audit action of a created key.
pub const API_KEY_CREATED: &str = "apikey.created";
/// Audit action of a revoked key.
pub const API_KEY_REVOKED: &str = "apikey.revoked";

/// Longest key name.
pub const API_KEY_NAME_MAX: usize = 100;

/// How keys are cached and how often their use is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeySettings {
    /// How long a looked-up key stays in the cache (revocation deletes it at once).
    pub cache_ttl: Duration,
    /// At most one `last_used_at` write per key per interval.
    pub touch_interval: Duration,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        Self {
            cache_ttl: Duration::from_secs(300),
            touch_interval: Duration::from_secs(60),
        }
    }
}

/// The cache key of the key whose hash is `hash`.
#[must_use]
pub fn api_key_cache_key(hash: &TokenHash) -> String {
    format!("apikey:{}", hash.0)
}

/// Implements [`ApiKeyService`].
#[derive(shaku::Component)]
#[shaku(interface = ApiKeyService)]
pub struct ApiKeyManager {
    #[shaku(inject)]
    uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    keys: Arc<dyn ApiKeyRepository>,
    #[shaku(inject)]
    permissions: Arc<dyn PermissionResolver>,
    #[shaku(inject)]
    cache: Arc<dyn Cache>,
    #[shaku(inject)]
    audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    outbox: Arc<dyn Outbox>,
    #[shaku(inject)]
    opaque: Arc<dyn OpaqueTokens>,
    #[shaku(inject)]
    limiter: Arc<dyn RateLimiter>,
    #[shaku(inject)]
    clock: Arc<dyn Clock>,
    #[shaku(inject)]
    ids: Arc<dyn IdGenerator>,
    /// Caching and use recording.
    #[shaku(default)]
    settings: ApiKeySettings,
    /// When this instance last recorded each key's use: spares the
    /// repository a write per request.
    #[shaku(force_default)]
    touched: Mutex<HashMap<ApiKeyId, DateTime<Utc>>>,
}

/// Entries of `touched` before it is cleared (a burst of keys costs a few
/// extra writes, never unbounded memory).
const TOUCHED_MAX: usize = 10_000;

fn backend(err: impl Into<platform_ports::BoxError>) -> ApiKeyError {
    ApiKeyError::Backend(err.into())
}

fn store_error(err: StoreError) -> ApiKeyError {
    match err {
        StoreError::NotFound => ApiKeyError::NotFound,
        other => backend(other),
    }
}

/// Trimmed, non-empty, at most [`API_KEY_NAME_MAX`] characters, no
/// control character (PostgreSQL cannot store a NUL: every adapter refuses alike).
fn validate_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "required", "must not be empty"));
    }
    check_storable("name", name, TextKind::SingleLine)?;
    if name.chars().count() > API_KEY_NAME_MAX {
        return Err(FieldError::new(
            "name",
            "too_long",
            format!("must be at most {API_KEY_NAME_MAX} characters"),
        ));
    }
    Ok(name.to_owned())
}

impl ApiKeyManager {
    /// A manager over these ports (tests; the container builds it by injection).
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub fn new(
        uow: Arc<dyn UnitOfWork>,
        keys: Arc<dyn ApiKeyRepository>,
        permissions: Arc<dyn PermissionResolver>,
        cache: Arc<dyn Cache>,
        audit: Arc<dyn AuditStore>,
        outbox: Arc<dyn Outbox>,
        opaque: Arc<dyn OpaqueTokens>,
        limiter: Arc<dyn RateLimiter>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        settings: ApiKeySettings,
    ) -> Self {
        Self {
            uow,
            keys,
            permissions,
            cache,
            audit,
            outbox,
            opaque,
            limiter,
            clock,
            ids,
            settings,
            touched: Mutex::default(),
        }
    }

    /// Checks the request against the creator's permissions: sorted,
    /// deduplicated scopes, each held by the creator.
    async fn held_scopes(
        &self,
        ctx: &RequestContext,
        requested: &[Permission],
    ) -> Result<Vec<Permission>, ApiKeyError> {
        let user = ctx.user_id().ok_or(ApiKeyError::Unauthenticated)?;
        let mut scopes = requested.to_vec();
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(ApiKeyError::Validation(
                FieldError::new("scopes", "required", "name at least one permission").into(),
            ));
        }
        let held = self
            .permissions
            .user_permissions(ctx.tenant_id, user)
            .await
            .map_err(backend)?;
        let missing: Vec<Permission> = scopes.iter().filter(|s| !held.contains(s)).cloned().collect();
        if missing.is_empty() {
            Ok(scopes)
        } else {
            Err(ApiKeyError::ScopeNotHeld(missing))
        }
    }

    /// Drops a key from the cache; a failure is logged (the entry then
    /// expires after `cache_ttl`, and the fallback cache replays deletions
    /// to Redis when it comes back).
    async fn forget(&self, key: &ApiKey) {
        if let Err(err) = self.cache.delete(&api_key_cache_key(&key.key_hash)).await {
            tracing::warn!(api_key_id = %key.id, error = %err, "could not drop a revoked API key from the cache");
        }
    }
}

#[async_trait]
impl ApiKeyService for ApiKeyManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id))]
    async fn create(&self, ctx: &RequestContext, input: NewApiKey) -> Result<CreatedApiKey, ApiKeyError> {
        let creator = ctx.user_id().ok_or(ApiKeyError::Unauthenticated)?;
        if ctx.api_key().is_some() {
            // A key minting keys would outlive its own revocation.
            return Err(ApiKeyError::Forbidden("an API key cannot create API keys"));
        }
        let now = self.clock.now();
        let mut errors = ValidationErrors::default();
        let name = validate_name(&input.name).map_err(|e| errors.push(e)).ok();
        if input.expires_at.is_some_and(|at| at <= now) {
            errors.push(FieldError::new("expires_at", "in_the_past", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(ApiKeyError::Validation(errors));
        }
        let name = name.unwrap_or_default();
        let scopes = self.held_scopes(ctx, &input.scopes).await?;

        let secret = SecretString::new(format!("{API_KEY_PREFIX}{}", self.opaque.generate().expose()));
        let key = ApiKey {
            id: ApiKeyId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            name,
            prefix: secret.expose().chars().take(API_KEY_DISPLAY_LEN).collect(),
            key_hash: self.opaque.hash(secret.expose()),
            scopes,
            created_by: creator,
            created_at: now,
            expires_at: input.expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        run_in_unit(self.uow.as_ref(), backend, async |tx| {
            self.keys.insert(tx, &key).await.map_err(backend)?;
            let entry = audit_entry(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                API_KEY_CREATED,
                Some(key.id.to_string()),
                meta! {
                    "name" => key.name,
                    "prefix" => key.prefix,
                    "scopes" => key.scopes,
                    "expires_at" => key.expires_at,
                },
            );
            self.audit.append(tx, &entry).await.map_err(backend)
        })
        .await?;
        Ok(CreatedApiKey { key, secret })
    }

    async fn list(&self, ctx: &RequestContext) -> Result<Vec<ApiKey>, ApiKeyError> {
        self.keys.list(ctx.tenant_id).await.map_err(backend)
    }

    async fn get(&self, ctx: &RequestContext, id: ApiKeyId) -> Result<ApiKey, ApiKeyError> {
        self.keys
            .find_by_id(ctx.tenant_id, id)
            .await
            .map_err(backend)?
            .ok_or(ApiKeyError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, api_key_id = %id))]
    async fn revoke(&self, ctx: &RequestContext, id: ApiKeyId) -> Result<ApiKey, ApiKeyError> {
        let now = self.clock.now();
        let key = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let key = self
                .keys
                .revoke(tx, ctx.tenant_id, id, now)
                .await
                .map_err(store_error)?;
            let entry = audit_entry(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                API_KEY_REVOKED,
                Some(key.id.to_string()),
                meta! { "name" => key.name, "prefix" => key.prefix },
            );
            self.audit.append(tx, &entry).await.map_err(store_error)?;
            // Every instance drops the key again when this reaches it: covers
            // a cache that missed the deletion below.
            let revoked = event(
                self.clock.as_ref(),
                self.ids.as_ref(),
                events::API_KEY_REVOKED,
                EVENT_SOURCE,
                key.tenant_id,
                key.id.to_string(),
                serde_json::json!({ "id": key.id, "tenant_id": key.tenant_id }),
            );
            self.outbox
                .enqueue(tx, IDENTITY_TOPIC, &revoked)
                .await
                .map_err(store_error)?;
            Ok(key)
        })
        .await?;
        // After commit: an instance that reloads the key now sees it revoked.
        self.forget(&key).await;
        Ok(key)
    }

    async fn forget(&self, tenant: TenantId, id: ApiKeyId) -> Result<(), ApiKeyError> {
        let Some(key) = self.keys.find_by_id(tenant, id).await.map_err(backend)? else {
            return Ok(());
        };
        self.cache
            .delete(&api_key_cache_key(&key.key_hash))
            .await
            .map_err(backend)
    }

    async fn authenticate(&self, ctx: &RequestContext, presented: &str) -> Result<Actor, ApiKeyError> {
        match self.actor_of(presented).await? {
            Some(actor) => Ok(actor),
            None => {
                // Only failures count: a working key is never slowed down by
                // a neighbour's guessing from the same address.
                self.limiter
                    .check(platform_ports::ratelimit::LimitedAction::ApiKey, ctx.client_ip, None)
                    .await
                    .map_err(|limited| ApiKeyError::RateLimited {
                        retry_after: limited.retry_after,
                    })?;
                Err(ApiKeyError::InvalidKey)
            }
        }
    }
}
