use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::auth::TokenError;
use crate::auth::{AccessClaims, TokenPair};
use crate::model::{RequestContext, SecretString, TenantId, UserId, ValidationErrors};

/// What authentication can fail with. Every credential failure is one
/// variant so unknown email and wrong password look the same.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email or wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Login requires a verified email.
    #[error("email not verified")]
    EmailNotVerified,
    /// The access or refresh token is invalid, expired, revoked or reused.
    #[error("invalid token")]
    InvalidToken(#[source] Option<TokenError>),
    /// Too many attempts.
    #[error("rate limited")]
    RateLimited {
        /// When the client may try again.
        retry_after: Duration,
    },
    /// The request is malformed.
    #[error("validation failed")]
    Validation(ValidationErrors),
    /// A dependency failed.
    #[error("authentication backend failed")]
    Backend(#[source] BoxError),
}

/// Login input.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// As typed; normalized by the service.
    pub email: String,
    /// The password.
    pub password: SecretString,
    /// The tenant to log into.
    pub tenant_id: TenantId,
}

/// Login, refresh, logout and token verification (the seed's `Authenticator`).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Authenticator: Interface {
    /// Checks credentials and opens a session.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`], [`AuthError::EmailNotVerified`],
    /// [`AuthError::RateLimited`], [`AuthError::Backend`].
    async fn login(&self, ctx: &RequestContext, credentials: Credentials) -> Result<TokenPair, AuthError>;

    /// Rotates a refresh token (reuse outside the grace window revokes its family).
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`], [`AuthError::RateLimited`], [`AuthError::Backend`].
    async fn refresh(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<TokenPair, AuthError>;

    /// Revokes a refresh token.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`], [`AuthError::Backend`].
    async fn logout(&self, ctx: &RequestContext, refresh_token: &SecretString) -> Result<(), AuthError>;

    /// Verifies an access token (the seed's `VerifyToken`). Runs on every
    /// request: no I/O, and repeated tokens are answered from memory.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`].
    fn verify_token(&self, token: &str) -> Result<Arc<AccessClaims>, AuthError>;

    /// Issues an access token (the seed's `GenerateAccessToken`).
    ///
    /// # Errors
    /// [`AuthError::Backend`] when signing fails.
    fn generate_access_token(
        &self,
        user_id: UserId,
        roles: Vec<String>,
        tenant_id: TenantId,
    ) -> Result<String, AuthError>;
}
