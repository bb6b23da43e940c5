use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{RefreshTokenId, TenantId, TokenFamilyId, UserId};

/// SHA-256 of a token, hex-encoded: the only form in which tokens are stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(pub String);

/// A stored refresh token (the token itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Identity.
    pub id: RefreshTokenId,
    /// The login session this token belongs to; reuse revokes the family.
    pub family_id: TokenFamilyId,
    /// Owner.
    pub user_id: UserId,
    /// Owner's tenant.
    pub tenant_id: TenantId,
    /// Hash of the token.
    pub token_hash: TokenHash,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a successor.
    pub rotated_at: Option<DateTime<Utc>>,
    /// The successor it was exchanged for.
    pub replaced_by: Option<RefreshTokenId>,
    /// When it (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a single-use mailed token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationPurpose {
    /// Proves ownership of an email address.
    EmailVerification,
    /// Allows setting a new password.
    PasswordReset,
}

/// A stored single-use token (email verification, password reset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationToken {
    /// Hash of the mailed token.
    pub token_hash: TokenHash,
    /// What it is for.
    pub purpose: VerificationPurpose,
    /// Whose it is.
    pub user_id: UserId,
    /// Owner's tenant.
    pub tenant_id: TenantId,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// When it was used; a used token never works again.
    pub used_at: Option<DateTime<Utc>>,
}

/// The claims of a verified access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Subject: the user id.
    pub sub: UserId,
    /// Role names.
    pub roles: Vec<String>,
    /// The user's tenant.
    pub tenant_id: TenantId,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Unique token id.
    pub jti: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The session (refresh-token family) the token was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<TokenFamilyId>,
}

/// An access token and refresh token handed to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The JWT access token.
    pub access_token: String,
    /// The opaque refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}
