//! Access-token encoding and opaque tokens.

use shaku::Interface;

use crate::auth::{AccessClaims, TokenHash};
use crate::model::SecretString;

/// Why a token was refused. The HTTP adapter turns every variant into the
/// same 401: the variants exist for logs and tests, not for clients.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Not a well-formed JWT.
    #[error("malformed token")]
    Malformed,
    /// `alg` is `none` or not the configured algorithm.
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Past `exp`.
    #[error("expired")]
    Expired,
    /// Wrong `iss` or `aud`, or a missing required claim.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
    /// Signing failed (key problem).
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Encodes and verifies access tokens (JWT HS256 / RS256).
///
/// Synchronous on purpose: it runs on every request and never waits on I/O.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait TokenCodec: Interface {
    /// Signs the claims.
    ///
    /// # Errors
    /// [`TokenError::Signing`].
    fn encode(&self, claims: &AccessClaims) -> Result<String, TokenError>;

    /// Verifies a token (algorithm, signature, expiry, issuer, audience) and
    /// returns its claims.
    ///
    /// # Errors
    /// Every [`TokenError`] variant but `Signing`.
    fn decode(&self, token: &str) -> Result<AccessClaims, TokenError>;

    /// The public keys as a JWKS document, `None` for symmetric algorithms.
    fn jwks(&self) -> Option<serde_json::Value>;
}

/// Opaque tokens (refresh, email verification, password reset): generated
/// from the OS's CSPRNG, stored only as hashes.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait OpaqueTokens: Interface {
    /// A new random token (256 bits, URL-safe text).
    fn generate(&self) -> SecretString;

    /// The token's storage hash (SHA-256, hex).
    fn hash(&self, token: &str) -> TokenHash;

    /// The successor of `parent`: a keyed hash (HMAC with the server's
    /// refresh-token key), so a rotated token maps to the same successor
    /// every time. This lets a concurrent double refresh inside the grace
    /// window return the same successor without storing it.
    fn successor(&self, parent: &str) -> SecretString;
}
