//! Profiles: read, list, update, delete.

use platform_ports::auth::VerificationPurpose;
use platform_ports::identity::IdentityError;
use platform_ports::identity::{User, UserFilter, UserUpdates};
use platform_ports::model::{Email, Page, PageRequest, RequestContext, UserId};
use serde_json::json;

use super::UserManager;
use super::credentials::{VERIFICATION_TEMPLATE, VERIFY_EMAIL_PATH};
use crate::identity::failures::{all_valid, invalid, list_error, log_invalidation, store_error};
use crate::identity::lockout::{Change, refuse_lockout};
use crate::identity::names::{actions, events};
use crate::identity::policy;
use crate::identity::record::Recorder;
use crate::meta;
use crate::unit_of_work::run_in_unit;

impl UserManager {
    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id))]
    pub(super) async fn update_user_profile(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        updates: UserUpdates,
    ) -> Result<User, IdentityError> {
        let display_name = updates
            .display_name
            .map(|name| policy::display_name(name.as_deref()))
            .transpose();
        // `Email` is checked where it is made; checked again because a
        // caller may have deserialized one from data that bypassed `parse`.
        let email = updates.email.map(|email| Email::parse(email.as_str())).transpose();
        all_valid([display_name.as_ref().err(), email.as_ref().err()])?;
        let (display_name, email) = (display_name.map_err(invalid)?, email.map_err(invalid)?);

        let (user, mailed) = run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let current = self.find(ctx, user_id).await?;
            let mut user = current.clone();
            let mut fields: Vec<&str> = Vec::new();
            if let Some(name) = display_name.filter(|n| *n != current.display_name) {
                user.display_name = name;
                fields.push("display_name");
            }
            if let Some(digest) = updates.digest.filter(|d| *d != current.digest) {
                user.digest = digest;
                fields.push("digest");
            }
            let mut mailed = None;
            if let Some(email) = email.filter(|e| *e != current.email) {
                user.email = email;
                user.email_verified = false;
                fields.push("email");
                // The new address must be proven; tokens mailed to the old one stop working.
                let (token, record) = self.mailed_token(&user, VerificationPurpose::EmailVerification);
                self.replace_token(tx, &record).await?;
                mailed = Some(token);
            }
            if fields.is_empty() {
                return Ok((current, None));
            }
            user.updated_at = self.clock.now();
            self.users.update(tx, &user).await.map_err(store_error)?;
            let entry = self.entry(ctx, actions::USER_UPDATED, user.id, meta! { "fields" => fields });
            let event = self.event(
                ctx,
                events::USER_UPDATED,
                user.id,
                json!({ "id": user.id, "email": user.email.as_str(), "fields": fields }),
            );
            self.record(tx, &entry, Some(&event)).await?;
            Ok((user, mailed))
        })
        .await?;
        if let Some(token) = mailed {
            self.mail_token(&user.email, VERIFICATION_TEMPLATE, VERIFY_EMAIL_PATH, &token)
                .await;
        }
        Ok(user)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id))]
    pub(super) async fn get_user(&self, ctx: &RequestContext, user_id: UserId) -> Result<User, IdentityError> {
        self.find(ctx, user_id).await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id))]
    pub(super) async fn list_users(
        &self,
        ctx: &RequestContext,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, IdentityError> {
        self.users.list(ctx.tenant_id, &filter, &page).await.map_err(list_error)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %ctx.tenant_id, request_id = %ctx.request_id, user_id = %user_id))]
    pub(super) async fn delete_user(&self, ctx: &RequestContext, user_id: UserId) -> Result<(), IdentityError> {
        let now = self.clock.now();
        run_in_unit(self.uow.as_ref(), store_error, async |tx| {
            let user = self.find(ctx, user_id).await?;
            refuse_lockout(self.roles.as_ref(), ctx.tenant_id, Change::DeleteUser(user_id)).await?;
            self.refresh_tokens
                .revoke_user(tx, user_id, None, now)
                .await
                .map_err(store_error)?;
            self.users
                .delete(tx, ctx.tenant_id, user_id)
                .await
                .map_err(store_error)?;
            let entry = self.entry(
                ctx,
                actions::USER_DELETED,
                user_id,
                meta! { "email" => user.email.as_str() },
            );
            let event = self.event(ctx, events::USER_DELETED, user.id, json!({ "id": user_id }));
            self.record(tx, &entry, Some(&event)).await
        })
        .await?;
        log_invalidation(user_id, self.permissions.invalidate(user_id).await);
        tracing::info!("user deleted");
        Ok(())
    }
}
