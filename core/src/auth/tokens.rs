//! What a session is made of: signed access tokens, stored refresh-token
//! records and the pair handed to the client.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use platform_ports::auth::{AccessClaims, AuthError, RefreshTokenRecord, TokenPair};
use platform_ports::model::{RefreshTokenId, SecretString, TenantId, TokenFamilyId, UserId};

use super::{AuthService, backend};

impl AuthService {
    /// Signs an access token for the user, issued at `now`.
    pub(super) fn issue_access_token(
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
    pub(super) async fn role_names(&self, tenant: TenantId, user_id: UserId) -> Result<Vec<String>, AuthError> {
        let roles = self.roles.roles_of_user(tenant, user_id).await.map_err(backend)?;
        Ok(roles.into_iter().map(|role| role.name).collect())
    }

    /// The stored form of `token`, a new member of `family` that expires
    /// after the refresh-token lifetime.
    pub(super) fn token_record(
        &self,
        family: TokenFamilyId,
        user_id: UserId,
        tenant_id: TenantId,
        token: &SecretString,
        now: DateTime<Utc>,
    ) -> RefreshTokenRecord {
        RefreshTokenRecord {
            id: RefreshTokenId(self.ids.new_id()),
            family_id: family,
            user_id,
            tenant_id,
            token_hash: self.opaque.hash(token.expose()),
            created_at: now,
            expires_at: later(now, self.settings.refresh_token_ttl),
            rotated_at: None,
            replaced_by: None,
            revoked_at: None,
        }
    }

    /// A token pair around a signed access token.
    pub(super) fn token_pair(&self, access_token: String, refresh_token: &SecretString) -> TokenPair {
        TokenPair {
            access_token,
            refresh_token: refresh_token.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: self.settings.access_token_ttl.as_secs(),
        }
    }
}

/// `now + ttl`, saturating instead of overflowing on absurd lifetimes.
pub(super) fn later(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
