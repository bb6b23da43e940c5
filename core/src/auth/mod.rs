//! Authentication: login, refresh-token rotation with reuse detection, logout,
//! and access-token issuing and verification ([`AuthService`]).

mod claims_cache;
mod login;
mod session;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use platform_ports::BoxError;
use platform_ports::audit::AuditStore;
use platform_ports::auth::RefreshTokenStore;
use platform_ports::auth::{AccessClaims, TokenPair};
use platform_ports::auth::{AuthError, Authenticator, Credentials};
use platform_ports::auth::{OpaqueTokens, TokenCodec};
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::identity::PasswordHasher;
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::model::{RequestContext, SecretString, TenantId, TokenFamilyId, UserId};
use platform_ports::persistence::UnitOfWork;

use claims_cache::ClaimsCache;

/// How long a rotated refresh token still yields its successor by default.
pub const DEFAULT_REFRESH_REUSE_GRACE: Duration = Duration::from_secs(10);

/// How many verified access tokens are remembered by default.
pub const DEFAULT_CLAIMS_CACHE_CAPACITY: usize = 10_000;

/// Audit action of a successful login.
pub const LOGIN_SUCCEEDED: &str = "auth.login.succeeded";
/// Audit action of a refused login (unknown account, wrong password, unverified email).
pub const LOGIN_FAILED: &str = "auth.login.failed";
/// Audit action of a logout.
pub const LOGOUT: &str = "auth.logout";
/// Audit action of a rotated refresh token presented again (its family is revoked).
pub const REFRESH_TOKEN_REUSED: &str = "auth.refresh_token.reused";

/// Token lifetimes, claims and login rules of the [`AuthService`].
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The `iss` claim of issued access tokens.
    pub issuer: String,
    /// The `aud` claim of issued access tokens.
    pub audience: String,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_token_ttl: Duration,
    /// Window in which presenting a rotated refresh token again returns its
    /// successor instead of revoking the session (concurrent double refresh).
    pub refresh_reuse_grace: Duration,
    /// Whether login refuses accounts whose email is not verified.
    pub require_verified_email: bool,
    /// How many verified access tokens to remember (`0` disables the cache).
    pub claims_cache_capacity: usize,
}

/// The [`Authenticator`]: sessions are refresh-token families stored by hash;
/// access tokens are signed by the [`TokenCodec`] and their verified claims
/// remembered until they expire.
#[derive(shaku::Component)]
#[shaku(interface = Authenticator)]
pub struct AuthService {
    #[shaku(inject)]
    uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    users: Arc<dyn UserRepository>,
    #[shaku(inject)]
    roles: Arc<dyn RoleRepository>,
    #[shaku(inject)]
    refresh_tokens: Arc<dyn RefreshTokenStore>,
    #[shaku(inject)]
    audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    hasher: Arc<dyn PasswordHasher>,
    #[shaku(inject)]
    codec: Arc<dyn TokenCodec>,
    #[shaku(inject)]
    opaque: Arc<dyn OpaqueTokens>,
    #[shaku(inject)]
    clock: Arc<dyn Clock>,
    #[shaku(inject)]
    ids: Arc<dyn IdGenerator>,
    /// Lifetimes, claims and login rules.
    settings: AuthSettings,
    /// Sized from `settings` on first use: shaku builds the struct field by field.
    #[shaku(force_default)]
    claims_cache: OnceLock<ClaimsCache>,
}

impl AuthService {
    fn claims_cache(&self) -> &ClaimsCache {
        self.claims_cache
            .get_or_init(|| ClaimsCache::new(self.settings.claims_cache_capacity))
    }

    /// Signs an access token for the user, issued at `now`.
    fn issue_access_token(
        &self,
        user_id: UserId,
        roles: Vec<String>,
        tenant_id: TenantId,
        session: Option<TokenFamilyId>,
        now: DateTime<Utc>,
    ) -> Result<String, AuthError> {
        let claims = AccessClaims {
            sub: user_id,
            roles,
            tenant_id,
            exp: later(now, self.settings.access_token_ttl).timestamp(),
            iat: now.timestamp(),
            jti: self.ids.new_id().to_string(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sid: session,
        };
        self.codec.encode(&claims).map_err(backend)
    }

    /// The role names that go into a user's access token.
    async fn role_names(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<String>, AuthError> {
        let roles = self.roles.roles_of_user(tenant, user_id).await.map_err(backend)?;
        Ok(roles.into_iter().map(|role| role.name).collect())
    }

    /// A token pair around a signed access token.
    fn token_pair(&self, access_token: String, refresh_token: &SecretString) -> TokenPair {
        TokenPair {
            access_token,
            refresh_token: refresh_token.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: self.settings.access_token_ttl.as_secs(),
        }
    }
}

#[async_trait]
impl Authenticator for AuthService {
    async fn login(&self, ctx: &RequestContext, credentials: Credentials) -> Result<TokenPair, AuthError> {
        self.login_impl(ctx, credentials).await
    }

    async fn refresh(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<TokenPair, AuthError> {
        self.refresh_impl(ctx, refresh_token).await
    }

    async fn logout(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<(), AuthError> {
        self.logout_impl(ctx, refresh_token).await
    }

    fn verify_token(&self, token: &str) -> Result<Arc<AccessClaims>, AuthError> {
        let now = self.clock.now().timestamp();
        let cache = self.claims_cache();
        if let Some(claims) = cache.get(token, now) {
            return Ok(claims);
        }
        let claims = Arc::new(
            self.codec
                .decode(token)
                .map_err(|err| AuthError::InvalidToken(Some(err)))?,
        );
        cache.insert(token, Arc::clone(&claims), now);
        Ok(claims)
    }

    fn generate_access_token(
        &self,
        user_id: UserId,
        roles: Vec<String>,
        tenant_id: TenantId,
    ) -> Result<String, AuthError> {
        self.issue_access_token(user_id, roles, tenant_id, None, self.clock.now())
    }
}

/// Wraps a dependency failure.
fn backend(err: impl Into<BoxError>) -> AuthError {
    AuthError::Backend(err.into())
}

/// `now + ttl`, saturating instead of overflowing on absurd lifetimes.
fn later(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
