//! Authentication: login, refresh-token rotation with reuse detection, logout,
//! and access-token issuing and verification ([`AuthService`]).

mod claims_cache;
mod login;
mod session;
mod tokens;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::audit::{AuditEntry, AuditStore};
use platform_ports::auth::RefreshTokenStore;
use platform_ports::auth::{AccessClaims, TokenPair};
use platform_ports::auth::{AuthError, Authenticator, Credentials};
use platform_ports::auth::{OpaqueTokens, TokenCodec};
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::identity::PasswordHasher;
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::model::{Email, RequestContext, SecretString, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use claims_cache::ClaimsCache;
use session::Rotation;

use crate::support::audit_entry_as;
use crate::unit_of_work::run_in_unit;

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

    /// An audit entry about `user` (also its target), filed under the
    /// account's `tenant`.
    fn audit_entry(
        &self,
        ctx: &RequestContext,
        tenant: TenantId,
        user: Option<UserId>,
        action: &str,
        metadata: BTreeMap<String, serde_json::Value>,
    ) -> AuditEntry {
        let target = user.map(|id| id.to_string());
        AuditEntry {
            tenant_id: tenant,
            ..audit_entry_as(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                user,
                action,
                target,
                metadata,
            )
        }
    }
}

#[async_trait]
impl Authenticator for AuthService {
    #[tracing::instrument(skip_all, fields(tenant_id = %credentials.tenant_id, user_id))]
    async fn login(&self, ctx: &RequestContext, credentials: Credentials) -> Result<TokenPair, AuthError> {
        let tenant = credentials.tenant_id;
        // A malformed address is refused exactly like an unknown one, so the
        // response never tells which addresses the service would accept.
        let email = Email::parse(&credentials.email).ok();
        let user = match &email {
            Some(email) => self.users.find_by_email(tenant, email).await.map_err(backend)?,
            None => None,
        };
        let Some(user) = user else {
            // Spend the time of a real verification: unknown and wrong look alike.
            self.hasher.verify_dummy(&credentials.password).await.map_err(backend)?;
            let reason = if email.is_some() {
                "unknown_user"
            } else {
                "invalid_email"
            };
            self.record_failure(ctx, tenant, None, email.as_ref(), reason).await?;
            return Err(AuthError::InvalidCredentials);
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));

        if !self.password_matches(&credentials.password, &user).await? {
            self.record_failure(ctx, tenant, Some(user.id), Some(&user.email), "wrong_password")
                .await?;
            return Err(AuthError::InvalidCredentials);
        }
        if self.settings.require_verified_email && !user.email_verified {
            self.record_failure(ctx, tenant, Some(user.id), Some(&user.email), "email_not_verified")
                .await?;
            return Err(AuthError::EmailNotVerified);
        }
        self.open_session(ctx, &user).await
    }

    #[tracing::instrument(skip_all, fields(user_id, family_id))]
    async fn refresh(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<TokenPair, AuthError> {
        let hash = self.opaque.hash(refresh_token.expose());
        let now = self.clock.now();
        let issued = run_in_unit(self.uow.as_ref(), backend, async |tx| {
            match self.rotate(ctx, tx, refresh_token, &hash, now).await? {
                Rotation::Reused => Ok(None),
                Rotation::Issue { record, token } => {
                    let user = self
                        .users
                        .find_by_id(record.tenant_id, record.user_id)
                        .await
                        .map_err(backend)?
                        .ok_or_else(session::invalid)?;
                    // Reloaded: role changes reach the session at its next refresh.
                    let roles = self.role_names(user.tenant_id, user.id).await?;
                    let access_token =
                        self.issue_access_token(user.id, roles, user.tenant_id, Some(record.family_id), now)?;
                    Ok(Some(self.token_pair(access_token, &token)))
                }
            }
        })
        .await?;
        // Committed on reuse too: the family's revocation must persist even
        // though the caller is refused.
        issued.ok_or_else(session::invalid)
    }

    #[tracing::instrument(skip_all, fields(user_id, family_id))]
    async fn logout(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<(), AuthError> {
        let hash = self.opaque.hash(refresh_token.expose());
        let now = self.clock.now();
        run_in_unit(self.uow.as_ref(), backend, async |tx| {
            let current = self.current_for_update(tx, &hash, now).await?;
            self.end_session(ctx, tx, &current, LOGOUT, now).await
        })
        .await?;
        Ok(())
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
