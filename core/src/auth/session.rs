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
use platform_ports::auth::{RefreshTokenRecord, TokenHash, TokenPair};
use platform_ports::model::{RefreshTokenId, RequestContext, SecretString};
use platform_ports::persistence::Transaction;

use super::{AuthService, LOGOUT, REFRESH_TOKEN_REUSED, backend, later};
use crate::meta;
use crate::support::audit_entry_as;
use crate::unit_of_work::run_in_unit;

/// What presenting a refresh token leads to.
enum Rotation {
    /// Hand out `token` (whose record is `record`) with a new access token.
    Issue {
        record: RefreshTokenRecord,
        token: SecretString,
    },
    /// A rotated token came back: its family was revoked.
    Reused,
}

fn invalid() -> AuthError {
    AuthError::InvalidToken(None)
}

/// Neither revoked nor past its expiry.
fn is_current(record: &RefreshTokenRecord, now: DateTime<Utc>) -> bool {
    record.revoked_at.is_none() && record.expires_at > now
}

impl AuthService {
    #[tracing::instrument(skip_all, fields(user_id, family_id))]
    pub(super) async fn refresh_impl(
        &self,
        ctx: &RequestContext,
        token: &SecretString,
    ) -> Result<TokenPair, AuthError> {
        let hash = self.opaque.hash(token.expose());
        let now = self.clock.now();
        let issued = run_in_unit(self.uow.as_ref(), backend, async |tx| {
            match self.rotate(ctx, tx, token, &hash, now).await? {
                Rotation::Reused => Ok(None),
                Rotation::Issue { record, token } => {
                    let user = self
                        .users
                        .find_by_id(record.tenant_id, record.user_id)
                        .await
                        .map_err(backend)?
                        .ok_or_else(invalid)?;
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
        issued.ok_or_else(invalid)
    }

    async fn rotate(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        token: &SecretString,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Rotation, AuthError> {
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

        let Some(rotated_at) = current.rotated_at else {
            let successor = self.opaque.successor(token.expose());
            let next = RefreshTokenRecord {
                id: RefreshTokenId(self.ids.new_id()),
                family_id: current.family_id,
                user_id: current.user_id,
                tenant_id: current.tenant_id,
                token_hash: self.opaque.hash(successor.expose()),
                created_at: now,
                expires_at: later(now, self.settings.refresh_token_ttl),
                rotated_at: None,
                replaced_by: None,
                revoked_at: None,
            };
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

        let revoked = self
            .refresh_tokens
            .revoke_family(tx, current.family_id, now)
            .await
            .map_err(backend)?;
        tracing::warn!(revoked, "rotated refresh token reused; session revoked");
        let mut entry = audit_entry_as(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            Some(current.user_id),
            REFRESH_TOKEN_REUSED,
            Some(current.user_id.to_string()),
            meta! { "family_id" => current.family_id.to_string(), "revoked_tokens" => revoked },
        );
        entry.tenant_id = current.tenant_id;
        self.audit.append(tx, &entry).await.map_err(backend)?;
        Ok(Rotation::Reused)
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

    #[tracing::instrument(skip_all, fields(user_id, family_id))]
    pub(super) async fn logout_impl(&self, ctx: &RequestContext, token: &SecretString) -> Result<(), AuthError> {
        let hash = self.opaque.hash(token.expose());
        let now = self.clock.now();
        run_in_unit(self.uow.as_ref(), backend, async |tx| {
            let current = self
                .refresh_tokens
                .find_for_update(tx, &hash)
                .await
                .map_err(backend)?
                .filter(|record| is_current(record, now))
                .ok_or_else(invalid)?;
            let span = tracing::Span::current();
            span.record("user_id", tracing::field::display(current.user_id));
            span.record("family_id", tracing::field::display(current.family_id));
            let revoked = self
                .refresh_tokens
                .revoke_family(tx, current.family_id, now)
                .await
                .map_err(backend)?;
            let mut entry = audit_entry_as(
                ctx,
                self.clock.as_ref(),
                self.ids.as_ref(),
                Some(current.user_id),
                LOGOUT,
                Some(current.user_id.to_string()),
                meta! { "family_id" => current.family_id.to_string(), "revoked_tokens" => revoked },
            );
            entry.tenant_id = current.tenant_id;
            self.audit.append(tx, &entry).await.map_err(backend)
        })
        .await
    }
}
