//! Login's steps: checking the password, opening a session (a new
//! refresh-token family with its first access token), recording a refusal.

use platform_ports::auth::AuthError;
use platform_ports::auth::TokenPair;
use platform_ports::identity::HashError;
use platform_ports::identity::User;
use platform_ports::model::{Email, RequestContext, SecretString, TenantId, TokenFamilyId, UserId};

use super::{AuthService, LOGIN_FAILED, LOGIN_SUCCEEDED, backend};
use crate::meta;
use crate::unit_of_work::run_in_unit;

impl AuthService {
    /// Whether the password is the user's. A stored hash the hasher cannot
    /// read is a data problem: logged, and refused like a wrong password so
    /// the response does not reveal that the account exists.
    pub(super) async fn password_matches(&self, password: &SecretString, user: &User) -> Result<bool, AuthError> {
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
    pub(super) async fn open_session(&self, ctx: &RequestContext, user: &User) -> Result<TokenPair, AuthError> {
        let roles = self.role_names(user.tenant_id, user.id).await?;
        let now = self.clock.now();
        let family = TokenFamilyId(self.ids.new_id());
        let refresh_token = self.opaque.generate();
        let record = self.token_record(family, user.id, user.tenant_id, &refresh_token, now);
        let entry = self.audit_entry(
            ctx,
            user.tenant_id,
            Some(user.id),
            LOGIN_SUCCEEDED,
            meta! { "email" => user.email.as_str(), "family_id" => family.to_string() },
        );

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
    pub(super) async fn record_failure(
        &self,
        ctx: &RequestContext,
        tenant: TenantId,
        user_id: Option<UserId>,
        email: Option<&Email>,
        reason: &str,
    ) -> Result<(), AuthError> {
        // The raw input of a malformed address is not recorded: users
        // sometimes type their password into the email field.
        let entry = self.audit_entry(
            ctx,
            tenant,
            user_id,
            LOGIN_FAILED,
            meta! { "email" => email.map(Email::as_str), "reason" => reason },
        );
        run_in_unit(self.uow.as_ref(), backend, async |tx| {
            self.audit.append(tx, &entry).await.map_err(backend)
        })
        .await
    }
}
