//! Refresh-token rotation with reuse detection, and logout.
//!
//! A session is a family of refresh tokens: each refresh exchanges the
//! presented token for its successor. A rotated token presented again means
//! two parties hold it, so the whole family is revoked — unless it comes back
//! within the grace window while its successor is still unused, which is a
//! client refreshing twice concurrently: it gets the same successor again.
//! Successors are derived from their parent (keyed hash), so the second
//! caller can be given the token without it ever being stored.

use chrono::{DateTime, TimeDelta, Utc};
use platform_ports::auth::AuthError;
use platform_ports::auth::{RefreshTokenRecord, TokenHash};
use platform_ports::model::{RequestContext, SecretString};
use platform_ports::persistence::Transaction;

use super::{AuthService, REFRESH_TOKEN_REUSED, backend};
use crate::meta;

/// What presenting a refresh token leads to.
pub(super) enum Rotation {
    /// Hand out `token` (whose record is `record`) with a new access token.
    Issue {
        record: RefreshTokenRecord,
        token: SecretString,
    },
    /// A rotated token came back: its family was revoked.
    Reused,
}

/// The refusal of a token that is unknown, expired, revoked or reused.
pub(super) fn invalid() -> AuthError {
    AuthError::InvalidToken(None)
}

/// Neither revoked nor past its expiry.
fn is_current(record: &RefreshTokenRecord, now: DateTime<Utc>) -> bool {
    record.revoked_at.is_none() && record.expires_at > now
}

impl AuthService {
    /// The live record of the presented token, locked for this unit of
    /// work; names its user and family on the current span.
    pub(super) async fn current_for_update(
        &self,
        tx: &mut Transaction,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<RefreshTokenRecord, AuthError> {
        let current = self
            .refresh_tokens
            .find_for_update(tx, hash)
            .await
            .map_err(backend)?
            .filter(|record| is_current(record, now))
            .ok_or_else(invalid)?;
        let span = tracing::Span::current();
        span.record("user_id", tracing::field::display(current.user_id));
        span.record("family_id", tracing::field::display(current.family_id));
        Ok(current)
    }

    /// Exchanges the presented token for its successor, or revokes its
    /// family when a rotated token comes back outside the grace window.
    pub(super) async fn rotate(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        token: &SecretString,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Rotation, AuthError> {
        let current = self.current_for_update(tx, hash, now).await?;
        let Some(rotated_at) = current.rotated_at else {
            let successor = self.opaque.successor(token.expose());
            let next = self.token_record(current.family_id, current.user_id, current.tenant_id, &successor, now);
            self.refresh_tokens.insert(tx, &next).await.map_err(backend)?;
            self.refresh_tokens
                .mark_rotated(tx, current.id, next.id, now)
                .await
                .map_err(backend)?;
            return Ok(Rotation::Issue {
                record: next,
                token: successor,
            });
        };

        let grace = TimeDelta::from_std(self.settings.refresh_reuse_grace).unwrap_or(TimeDelta::MAX);
        if now.signed_duration_since(rotated_at) <= grace
            && let Some(issue) = self.replay_successor(tx, &current, token, now).await?
        {
            return Ok(issue);
        }

        let revoked = self.end_session(ctx, tx, &current, REFRESH_TOKEN_REUSED, now).await?;
        tracing::warn!(revoked, "rotated refresh token reused; session revoked");
        Ok(Rotation::Reused)
    }

    /// Revokes the family of `current` and audits it as `action` (logout,
    /// reuse); returns how many tokens were revoked.
    pub(super) async fn end_session(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        current: &RefreshTokenRecord,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, AuthError> {
        let revoked = self
            .refresh_tokens
            .revoke_family(tx, current.family_id, now)
            .await
            .map_err(backend)?;
        let entry = self.audit_entry(
            ctx,
            current.tenant_id,
            Some(current.user_id),
            action,
            meta! { "family_id" => current.family_id.to_string(), "revoked_tokens" => revoked },
        );
        self.audit.append(tx, &entry).await.map_err(backend)?;
        Ok(revoked)
    }

    /// The successor `current` was already exchanged for, when that one is
    /// still live and unused; `None` when the family must be revoked.
    async fn replay_successor(
        &self,
        tx: &mut Transaction,
        current: &RefreshTokenRecord,
        token: &SecretString,
        now: DateTime<Utc>,
    ) -> Result<Option<Rotation>, AuthError> {
        let Some(next_id) = current.replaced_by else {
            return Ok(None);
        };
        let next = self
            .refresh_tokens
            .find_by_id(tx, next_id)
            .await
            .map_err(backend)?
            .filter(|next| is_current(next, now) && next.rotated_at.is_none());
        let Some(next) = next else {
            return Ok(None);
        };
        let successor = self.opaque.successor(token.expose());
        if self.opaque.hash(successor.expose()) != next.token_hash {
            // Not reuse: the successor was derived with another key (instances
            // configured with different refresh-token keys, or a key change).
            tracing::error!(
                "refresh token successor does not match the stored one; \
                 is auth.refresh_token_key the same on every instance?"
            );
            return Err(invalid());
        }
        Ok(Some(Rotation::Issue {
            record: next,
            token: successor,
        }))
    }
}
