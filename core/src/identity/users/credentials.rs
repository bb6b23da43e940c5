//! Registration, email verification and passwords.

use chrono::{DateTime, Utc};
use platform_ports::auth::{TokenHash, VerificationPurpose};
use platform_ports::identity::User;
use platform_ports::identity::{IdentityError, RegisterUser};
use platform_ports::model::{Email, RequestContext, SecretString, UserId};
use platform_ports::persistence::Transaction;
use serde_json::json;

use super::UserManager;
use crate::identity::failures::{all_valid, hash_error, invalid, store_error};
use crate::identity::names::{actions, events};
use crate::identity::policy;
use crate::identity::record::Recorder;
use crate::meta;
use crate::unit_of_work::run_in_unit;

/// Where the verification link points (the front end's page).
pub(crate) const VERIFY_EMAIL_PATH: &str = "/verify-email";
/// Where the reset link points.
pub(crate) const RESET_PASSWORD_PATH: &str = "/reset-password";
/// Template of the verification mail.
pub(crate) const VERIFICATION_TEMPLATE: &str = "email_verification";
/// Template of the reset mail.
pub(crate) const RESET_TEMPLATE: &str = "password_reset";

impl UserManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn register_user(&self, ctx: &RequestContext, input: RegisterUser) -> Result<User, IdentityError> {
        let email = Email::parse(&input.email);
        let password_ok = match &email {
            Ok(email) => policy::check_password(&self.settings, "password", &input.password, email),
            Err(_) => policy::check_password_length(&self.settings, "password", &input.password),
        };
        let display_name = policy::display_name(input.display_name.as_deref());
        all_valid([
            email.as_ref().err(),
            password_ok.as_ref().err(),
            display_name.as_ref().err(),
        ])?;
        let (email, display_name) = (email.map_err(invalid)?, display_name.map_err(invalid)?);

        // Hashing is the slow part: done before the unit of work holds a connection.
        let password_hash = self.hasher.hash(&input.password).await.map_err(hash_error)?;
        let now = self.clock.now();
        let user = User {
            id: UserId(self.ids.new_id()),
            tenant_id: ctx.tenant_id,
            email,
            display_name,
            password_hash,
            email_verified: false,
            digest: false,
            created_at: now,
            updated_at: now,
        };
        let (token, record) = self.mailed_token(&user, VerificationPurpose::EmailVerification);
        let entry = self.entry(
            ctx,
            actions::USER_CREATED,
            user.id,
            meta! { "email" => user.email.as_str() },
        );
        let event = self.event(
            ctx,
            events::USER_CREATED,
            user.id,
            json!({ "id": user.id, "email": user.email.as_str() }),
        );

        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            self.users.create(tx, &user).await.map_err(store_error)?;
            self.verification_tokens
                .insert(tx, &record)
                .await
                .map_err(store_error)?;
            self.record(tx, &entry, Some(&event)).await
        })
        .await?;

        tracing::info!(user_id = %user.id, "user registered");
        self.mail_token(&user.email, VERIFICATION_TEMPLATE, VERIFY_EMAIL_PATH, &token)
            .await;
        Ok(user)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn verify_user_email(
        &self,
        ctx: &RequestContext,
        token: &SecretString,
    ) -> Result<(), IdentityError> {
        let hash = self.tokens.hash(token.expose());
        let now = self.clock.now();
        // A rolled-back consume leaves the token usable: only a verification
        // that commits spends it.
        let user_id = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let user = self
                .redeem(ctx, tx, VerificationPurpose::EmailVerification, &hash, now)
                .await?;
            let user = self.mark_verified(ctx, tx, ctx.user_id(), user, now).await?;
            Ok(user.id)
        })
        .await?;
        tracing::info!(user_id = %user_id, "email verified");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn start_password_reset(
        &self,
        ctx: &RequestContext,
        raw_email: &str,
    ) -> Result<(), IdentityError> {
        // Both paths make the token, so an unknown address does not answer
        // measurably faster than a known one.
        let token = self.tokens.generate();
        let token_hash = self.tokens.hash(token.expose());
        let Ok(email) = Email::parse(raw_email) else {
            return Ok(());
        };
        let Some(user) = self
            .users
            .find_by_email(ctx.tenant_id, &email)
            .await
            .map_err(store_error)?
        else {
            tracing::debug!("password reset asked for an unknown address");
            return Ok(());
        };

        let record = self.token_record(token_hash, &user, VerificationPurpose::PasswordReset);
        // Only the newest reset mail works.
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            self.replace_token(tx, &record).await
        })
        .await?;
        self.mail_token(&user.email, RESET_TEMPLATE, RESET_PASSWORD_PATH, &token)
            .await;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn finish_password_reset(
        &self,
        ctx: &RequestContext,
        token: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        // The rules that need no account run first, so a weak password never
        // touches the token.
        policy::check_password_length(&self.settings, "new_password", new_password).map_err(invalid)?;
        let password_hash = self.hasher.hash(new_password).await.map_err(hash_error)?;
        let hash = self.tokens.hash(token.expose());
        let now = self.clock.now();

        let user_id = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let mut user = self
                .redeem(ctx, tx, VerificationPurpose::PasswordReset, &hash, now)
                .await?;
            // Refused inside the unit of work: the rollback keeps the token usable.
            policy::check_password_not_email("new_password", new_password, &user.email).map_err(invalid)?;
            user.password_hash = password_hash;
            user.updated_at = now;
            self.users.update(tx, &user).await.map_err(store_error)?;
            let revoked = self
                .refresh_tokens
                .revoke_user(tx, user.id, None, now)
                .await
                .map_err(store_error)?;
            let entry = self.entry(
                ctx,
                actions::USER_PASSWORD_RESET,
                user.id,
                meta! { "sessions_revoked" => revoked },
            );
            let event = self.event(
                ctx,
                events::USER_UPDATED,
                user.id,
                json!({ "id": user.id, "email": user.email.as_str(), "fields": ["password"] }),
            );
            self.record(tx, &entry, Some(&event)).await?;
            Ok(user.id)
        })
        .await?;
        tracing::info!(user_id = %user_id, "password reset");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id))]
    pub(super) async fn change_user_password(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        let user = self.find(ctx, user_id).await?;
        if !self
            .hasher
            .verify(old_password, &user.password_hash)
            .await
            .map_err(hash_error)?
        {
            return Err(IdentityError::InvalidCredentials);
        }
        policy::check_password(&self.settings, "new_password", new_password, &user.email).map_err(invalid)?;
        let password_hash = self.hasher.hash(new_password).await.map_err(hash_error)?;
        // The session asking keeps working; every other one ends. An
        // administrator changing someone else's password keeps none of theirs.
        let keep = ctx
            .actor
            .as_ref()
            .filter(|a| a.user_id == user_id)
            .and_then(|a| a.session_id);
        let now = self.clock.now();

        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let updated = User {
                password_hash,
                updated_at: now,
                ..user
            };
            self.users.update(tx, &updated).await.map_err(store_error)?;
            let revoked = self
                .refresh_tokens
                .revoke_user(tx, user_id, keep, now)
                .await
                .map_err(store_error)?;
            let entry = self.entry(
                ctx,
                actions::USER_PASSWORD_CHANGED,
                user_id,
                meta! { "sessions_revoked" => revoked },
            );
            let event = self.event(
                ctx,
                events::USER_UPDATED,
                updated.id,
                json!({ "id": user_id, "email": updated.email.as_str(), "fields": ["password"] }),
            );
            self.record(tx, &entry, Some(&event)).await
        })
        .await?;
        tracing::info!("password changed");
        Ok(())
    }

    /// The account of a mailed token of `purpose`, spending the token in
    /// the unit of work: a token of another tenant, or whose account is
    /// gone, proves nothing.
    async fn redeem(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        purpose: VerificationPurpose,
        hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<User, IdentityError> {
        let record = self
            .verification_tokens
            .consume(tx, purpose, hash, now)
            .await
            .map_err(store_error)?
            .filter(|r| r.tenant_id == ctx.tenant_id)
            .ok_or(IdentityError::InvalidToken)?;
        self.users
            .find_by_id(ctx.tenant_id, record.user_id)
            .await
            .map_err(store_error)?
            .ok_or(IdentityError::InvalidToken)
    }

    /// Marks the user's email verified at `now`, recorded as done by `actor`.
    pub(super) async fn mark_verified(
        &self,
        ctx: &RequestContext,
        tx: &mut Transaction,
        actor: Option<UserId>,
        user: User,
        now: DateTime<Utc>,
    ) -> Result<User, IdentityError> {
        let user = User {
            email_verified: true,
            updated_at: now,
            ..user
        };
        self.users.update(tx, &user).await.map_err(store_error)?;
        let entry = self.entry_as(
            ctx,
            actor,
            actions::USER_EMAIL_VERIFIED,
            user.id,
            meta! { "email" => user.email.as_str() },
        );
        let event = self.event(
            ctx,
            events::USER_UPDATED,
            user.id,
            json!({ "id": user.id, "email": user.email.as_str(), "fields": ["email_verified"] }),
        );
        self.record(tx, &entry, Some(&event)).await?;
        Ok(user)
    }
}
