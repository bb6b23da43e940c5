//! API keys: tenant-scoped credentials for server-to-server calls, the
//! repository that stores them (by hash only) and the `ApiKeyService`
//! driving port.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shaku::Interface;

use crate::auth::TokenHash;
use crate::authz::Permission;
use crate::model::{Actor, ApiKeyId, RequestContext, SecretString, TenantId, UserId, ValidationErrors};
use crate::persistence::Transaction;
use crate::{BoxError, StoreError};

/// Every API key starts with this, so the HTTP adapter tells a key from a
/// JWT by its first bytes (a JWT starts with `eyJ`).
pub const API_KEY_PREFIX: &str = "plt_";

/// How many characters of a key are kept in clear to recognise it in lists
/// (`plt_` and the first 8 characters of the random part: 48 bits, useless
/// to an attacker, enough to tell keys apart).
pub const API_KEY_DISPLAY_LEN: usize = 12;

/// A stored API key (the key itself is never stored, only its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Identity.
    pub id: ApiKeyId,
    /// The tenant the key acts in.
    pub tenant_id: TenantId,
    /// A human label.
    pub name: String,
    /// The first [`API_KEY_DISPLAY_LEN`] characters of the key.
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub key_hash: TokenHash,
    /// The most the key may do (sorted); its creator's current permissions
    /// bound it further at each request.
    pub scopes: Vec<Permission>,
    /// Who created it; the key acts on their behalf.
    pub created_by: UserId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// After this the key no longer authenticates (`None`: never expires).
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful authentication, recorded at most about once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; a revoked key never authenticates again.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key authenticates at `now`: not revoked, not expired.
    #[must_use]
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// What a user asks for when creating a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApiKey {
    /// A human label (1..=100 characters).
    pub name: String,
    /// The permissions the key may use; each must be held by the creator.
    pub scopes: Vec<Permission>,
    /// Optional expiry, in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A created key and its secret, which is shown exactly once.
#[derive(Clone, Debug)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The full key (`plt_…`), never retrievable again.
    pub secret: SecretString,
}

/// What API-key use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// Input is invalid (name, expiry).
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// A requested scope is not held by the creator.
    #[error("scope not held: {0:?}")]
    ScopeNotHeld(Vec<Permission>),
    /// The caller may not do this with the credentials it used (an API key
    /// cannot create keys).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such key in the caller's tenant.
    #[error("not found")]
    NotFound,
    /// No authenticated caller.
    #[error("not authenticated")]
    Unauthenticated,
    /// The presented key is unknown, revoked or expired.
    #[error("invalid api key")]
    InvalidKey,
    /// Too many failed key authentications from this client.
    #[error("rate limited")]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// A dependency failed.
    #[error("api key backend failed")]
    Backend(#[source] BoxError),
}

/// Stores API keys. Lookups by hash cross tenants (the key names its
/// tenant); every other method is scoped to one.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Interface {
    /// Inserts a key.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or hash exists, [`StoreError::Backend`].
    async fn insert(&self, tx: &mut Transaction, key: &ApiKey) -> Result<(), StoreError>;

    /// The key with this hash, in any tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;

    /// The key with this id in the tenant.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn find_by_id(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;

    /// Every key of the tenant, newest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn list(&self, tenant: TenantId) -> Result<Vec<ApiKey>, StoreError>;

    /// Stamps the key revoked at `at` (a second revocation keeps the first
    /// time) and returns it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the tenant has no such key, [`StoreError::Backend`].
    async fn revoke(
        &self,
        tx: &mut Transaction,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<ApiKey, StoreError>;

    /// Records a use at `at`, unless one at or after `not_before` is already
    /// recorded (so concurrent instances write at most once per interval).
    /// Returns whether it wrote.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn touch(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        not_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// API keys for users and the authentication of their holders.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyService: Interface {
    /// Creates a key for the calling user, in their tenant.
    ///
    /// # Errors
    /// [`ApiKeyError::Validation`], [`ApiKeyError::ScopeNotHeld`],
    /// [`ApiKeyError::Forbidden`] (the caller is itself an API key),
    /// [`ApiKeyError::Unauthenticated`], [`ApiKeyError::Backend`].
    async fn create(&self, ctx: &RequestContext, input: NewApiKey) -> Result<CreatedApiKey, ApiKeyError>;

    /// Every key of the caller's tenant, newest first.
    ///
    /// # Errors
    /// [`ApiKeyError::Backend`].
    async fn list(&self, ctx: &RequestContext) -> Result<Vec<ApiKey>, ApiKeyError>;

    /// One key of the caller's tenant.
    ///
    /// # Errors
    /// [`ApiKeyError::NotFound`], [`ApiKeyError::Backend`].
    async fn get(&self, ctx: &RequestContext, id: ApiKeyId) -> Result<ApiKey, ApiKeyError>;

    /// Revokes a key of the caller's tenant, with immediate effect on every
    /// instance sharing the cache.
    ///
    /// # Errors
    /// [`ApiKeyError::NotFound`], [`ApiKeyError::Backend`].
    async fn revoke(&self, ctx: &RequestContext, id: ApiKeyId) -> Result<ApiKey, ApiKeyError>;

    /// Drops the key from the cache (the at-least-once second pass after a
    /// revocation, run by the identity event subscriber on every instance).
    ///
    /// # Errors
    /// [`ApiKeyError::Backend`] when the cache cannot be cleared.
    async fn forget(&self, tenant: TenantId, id: ApiKeyId) -> Result<(), ApiKeyError>;

    /// The actor a presented key stands for: its creator, in the key's
    /// tenant, with a grant of the key's scopes that the creator still holds.
    /// Failures count against the client's address.
    ///
    /// # Errors
    /// [`ApiKeyError::InvalidKey`], [`ApiKeyError::RateLimited`], [`ApiKeyError::Backend`].
    async fn authenticate(&self, ctx: &RequestContext, key: &str) -> Result<Actor, ApiKeyError>;
}
