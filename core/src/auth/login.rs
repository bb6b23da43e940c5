//! Login: credentials in, a new session (refresh-token family) and an access token out.

use platform_ports::auth::{AuthError, Credentials};
use platform_ports::auth::{RefreshTokenRecord, TokenPair};
use platform_ports::identity::HashError;
use platform_ports::identity::User;
use platform_ports::model::{Email, RefreshTokenId, RequestContext, SecretString, TenantId, TokenFamilyId, UserId};

use super::{AuthService, LOGIN_FAILED, LOGIN_SUCCEEDED, backend, later};
use crate::meta;
use crate::support::audit_entry_as;
use crate::unit_of_work::run_in_unit;

impl AuthService {
    #[tracing::instrument(skip_all, fields(tenant_id = %credentials.tenant_id, user_id))]
    pub(super) async fn login_impl(
        &self,
        ctx: &RequestContext,
        credentials: Credentials,
    ) -> Result<TokenPair, AuthError> {
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

    /// Whether the password is the user's. A stored hash the hasher cannot
    /// read is a data problem: logged, and refused like a wrong password so
    /// the response does not reveal that the account exists.
    async fn password_matches(&self, password: &SecretString, user: &User) -> Result<bool, AuthError> {
        match self.hasher.verify(password, &user.password_hash).await {
            Ok(matches) => Ok(matches),
            Err(HashError::Malformed) => {
                tracing::error!(user_id = %user.id, "stored password hash is malformed");
                Ok(false)
            }
            Err(err @ HashError::Unavailable(_)) => Err(backend(err)),
        }
    }

    /// Stores a new refresh-token family and signs the first access token.
    async fn open_session(&self, ctx: &RequestContext, user: &User) -> Result<TokenPair, AuthError> {
        let roles = self.role_names(user.tenant_id, user.id).await?;
        let now = self.clock.now();
        let family = TokenFamilyId(self.ids.new_id());
        let refresh_token = self.opaque.generate();
        let record = RefreshTokenRecord {
            id: RefreshTokenId(self.ids.new_id()),
            family_id: family,
            user_id: user.id,
            tenant_id: user.tenant_id,
            token_hash: self.opaque.hash(refresh_token.expose()),
            created_at: now,
            expires_at: later(now, self.settings.refresh_token_ttl),
            rotated_at: None,
            replaced_by: None,
            revoked_at: None,
        };
        let mut entry = audit_entry_as(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            Some(user.id),
            LOGIN_SUCCEEDED,
            Some(user.id.to_string()),
            meta! { "email" => user.email.as_str(), "family_id" => family.to_string() },
        );
        entry.tenant_id = user.tenant_id;

        let access_token = run_in_unit(self.uow.as_ref(), backend, async |tx| {
            self.refresh_tokens.insert(tx, &record).await.map_err(backend)?;
            self.audit.append(tx, &entry).await.map_err(backend)?;
            // Signed before the commit: if signing fails, no session is left behind.
            self.issue_access_token(user.id, roles, user.tenant_id, Some(family), now)
        })
        .await?;
        Ok(self.token_pair(access_token, &refresh_token))
    }

    /// Records a refused login in a unit of work of its own.
    async fn record_failure(
        &self,
        ctx: &RequestContext,
        tenant: TenantId,
        user_id: Option<UserId>,
        email: Option<&Email>,
        reason: &str,
    ) -> Result<(), AuthError> {
        // The raw input of a malformed address is not recorded: users
        // sometimes type their password into the email field.
        let mut entry = audit_entry_as(
            ctx,
            self.clock.as_ref(),
            self.ids.as_ref(),
            user_id,
            LOGIN_FAILED,
            user_id.map(|id| id.to_string()),
            meta! { "email" => email.map(Email::as_str), "reason" => reason },
        );
        entry.tenant_id = tenant;
        run_in_unit(self.uow.as_ref(), backend, async |tx| {
            self.audit.append(tx, &entry).await.map_err(backend)
        })
        .await
    }
}
