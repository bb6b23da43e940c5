//! [`UserManager`]: the user lifecycle, from registration to deletion.

mod admin;
mod credentials;
mod profile;

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::audit::AuditStore;
use platform_ports::auth::OpaqueTokens;
use platform_ports::auth::{RefreshTokenStore, VerificationTokenStore};
use platform_ports::auth::{TokenHash, VerificationPurpose, VerificationToken};
use platform_ports::authz::PermissionResolver;
use platform_ports::clock::{Clock, IdGenerator};
use platform_ports::events::Outbox;
use platform_ports::identity::PasswordHasher;
use platform_ports::identity::{IdentityError, RegisterUser, UserService};
use platform_ports::identity::{RoleRepository, UserRepository};
use platform_ports::identity::{User, UserFilter, UserUpdates};
use platform_ports::model::{Email, Page, PageRequest, RequestContext, SecretString, UserId};
use platform_ports::notify::Notifier;
use platform_ports::persistence::{Transaction, UnitOfWork};
use serde_json::json;

use super::failures::store_error;
use super::record::Recorder;
use super::settings::{IdentitySettings, PermissionCatalog};

/// Implements [`UserService`]: registration, verification, passwords,
/// profiles and the bootstrap administrator.
///
/// Built by shaku; the fields are open to `identity` so its tests can
/// build it from mocks.
#[derive(shaku::Component)]
#[shaku(interface = UserService)]
pub struct UserManager {
    #[shaku(inject)]
    pub(super) uow: Arc<dyn UnitOfWork>,
    #[shaku(inject)]
    pub(super) users: Arc<dyn UserRepository>,
    #[shaku(inject)]
    pub(super) roles: Arc<dyn RoleRepository>,
    #[shaku(inject)]
    pub(super) refresh_tokens: Arc<dyn RefreshTokenStore>,
    #[shaku(inject)]
    pub(super) verification_tokens: Arc<dyn VerificationTokenStore>,
    #[shaku(inject)]
    pub(super) audit: Arc<dyn AuditStore>,
    #[shaku(inject)]
    pub(super) outbox: Arc<dyn Outbox>,
    #[shaku(inject)]
    pub(super) hasher: Arc<dyn PasswordHasher>,
    #[shaku(inject)]
    pub(super) tokens: Arc<dyn OpaqueTokens>,
    #[shaku(inject)]
    pub(super) notifier: Arc<dyn Notifier>,
    #[shaku(inject)]
    pub(super) permissions: Arc<dyn PermissionResolver>,
    #[shaku(inject)]
    pub(super) clock: Arc<dyn Clock>,
    #[shaku(inject)]
    pub(super) ids: Arc<dyn IdGenerator>,
    /// Password rules, token lifetimes, the public URL.
    pub(super) settings: IdentitySettings,
    /// Every declared permission (the admin role holds them all).
    pub(super) catalog: PermissionCatalog,
}

impl UserManager {
    /// The user in the caller's tenant.
    async fn find(&self, ctx: &RequestContext, id: UserId) -> Result<User, IdentityError> {
        self.users
            .find_by_id(ctx.tenant_id, id)
            .await
            .map_err(store_error)?
            .ok_or(IdentityError::NotFound)
    }

    /// A fresh mailed token for `user`: the token to send and the record to store.
    fn mailed_token(&self, user: &User, purpose: VerificationPurpose) -> (SecretString, VerificationToken) {
        let token = self.tokens.generate();
        let record = self.token_record(self.tokens.hash(token.expose()), user, purpose);
        (token, record)
    }

    /// The stored form of a token for `user`, expiring after the purpose's lifetime.
    fn token_record(&self, token_hash: TokenHash, user: &User, purpose: VerificationPurpose) -> VerificationToken {
        let now = self.clock.now();
        let ttl = match purpose {
            VerificationPurpose::EmailVerification => self.settings.email_verification_ttl,
            VerificationPurpose::PasswordReset => self.settings.password_reset_ttl,
        };
        VerificationToken {
            token_hash,
            purpose,
            user_id: user.id,
            tenant_id: user.tenant_id,
            created_at: now,
            expires_at: now + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX),
            used_at: None,
        }
    }

    /// Stores `record` as its user's only live token of its purpose: the
    /// mails sent before it stop working.
    async fn replace_token(&self, tx: &mut Transaction, record: &VerificationToken) -> Result<(), IdentityError> {
        self.verification_tokens
            .invalidate_user(tx, record.user_id, record.purpose, record.created_at)
            .await
            .map_err(store_error)?;
        self.verification_tokens.insert(tx, record).await.map_err(store_error)
    }

    /// Mails a token after its unit of work committed. A failure is logged,
    /// not returned: the change stands and the user can ask for another mail.
    async fn mail_token(&self, email: &Email, template: &str, path: &str, token: &SecretString) {
        let link = super::policy::token_link(&self.settings.public_url, path, token.expose());
        let data = json!({ "token": token.expose(), "link": link, "email": email.as_str() });
        if let Err(err) = self
            .notifier
            .send_email_with_template(email.as_str(), template, &data)
            .await
        {
            tracing::error!(template, error = %err, "could not queue identity mail");
        }
    }
}

impl Recorder for UserManager {
    fn stamps(&self) -> (&dyn Clock, &dyn IdGenerator) {
        (self.clock.as_ref(), self.ids.as_ref())
    }

    fn stores(&self) -> (&dyn AuditStore, &dyn Outbox) {
        (self.audit.as_ref(), self.outbox.as_ref())
    }
}

#[async_trait]
impl UserService for UserManager {
    async fn register(&self, ctx: &RequestContext, input: RegisterUser) -> Result<User, IdentityError> {
        self.register_user(ctx, input).await
    }

    async fn verify_email(&self, ctx: &RequestContext, token: &SecretString) -> Result<(), IdentityError> {
        self.verify_user_email(ctx, token).await
    }

    async fn request_password_reset(&self, ctx: &RequestContext, email: &str) -> Result<(), IdentityError> {
        self.start_password_reset(ctx, email).await
    }

    async fn reset_password(
        &self,
        ctx: &RequestContext,
        token: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        self.finish_password_reset(ctx, token, new_password).await
    }

    async fn change_password(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        old_password: &SecretString,
        new_password: &SecretString,
    ) -> Result<(), IdentityError> {
        self.change_user_password(ctx, user_id, old_password, new_password)
            .await
    }

    async fn update_profile(
        &self,
        ctx: &RequestContext,
        user_id: UserId,
        updates: UserUpdates,
    ) -> Result<User, IdentityError> {
        self.update_user_profile(ctx, user_id, updates).await
    }

    async fn get(&self, ctx: &RequestContext, user_id: UserId) -> Result<User, IdentityError> {
        self.get_user(ctx, user_id).await
    }

    async fn list(
        &self,
        ctx: &RequestContext,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, IdentityError> {
        self.list_users(ctx, filter, page).await
    }

    async fn ensure_admin(
        &self,
        ctx: &RequestContext,
        email: &str,
        password: &SecretString,
    ) -> Result<User, IdentityError> {
        self.ensure_admin_user(ctx, email, password).await
    }

    async fn delete(&self, ctx: &RequestContext, user_id: UserId) -> Result<(), IdentityError> {
        self.delete_user(ctx, user_id).await
    }
}
