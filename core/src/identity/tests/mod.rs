//! Use-case tests of identity with mockall mocks of every port.
//!
//! The harness answers the plumbing every use case shares (unit of work,
//! clock, ids, tokens, audit store, outbox) and records what was appended and
//! enqueued; each test sets the expectations of the ports it is about. A port
//! with no expectation panics when called, so "not called" needs no code.

mod admin;
mod passwords;
mod profile;
mod register;
mod roles;
mod tokens;

use std::sync::Arc;

use platform_ports::audit::MockAuditStore;
use platform_ports::auth::MockOpaqueTokens;
use platform_ports::auth::TokenHash;
use platform_ports::auth::{MockRefreshTokenStore, MockVerificationTokenStore};
use platform_ports::authz::MockPermissionResolver;
use platform_ports::events::MockOutbox;
use platform_ports::identity::IdentityError;
use platform_ports::identity::MockPasswordHasher;
use platform_ports::identity::{MockRoleRepository, MockUserRepository};
use platform_ports::identity::{PasswordHash, User};
use platform_ports::model::{Email, SecretString, UserId};
use platform_ports::notify::MockNotifier;
use platform_ports::persistence::MockUnitOfWork;
use uuid::Uuid;

use super::{IdentitySettings, PermissionCatalog, RoleManager, UserManager};
use crate::support::IDENTITY_TOPIC;
pub(super) use crate::testing::{Log, TENANT, anonymous, as_user, now};
use crate::testing::{counting_ids, fixed_clock};

/// The raw token the fake token generator hands out.
pub(super) const RAW_TOKEN: &str = "raw-token";

/// How the fake token port hashes.
pub(super) fn hash_of(token: &str) -> TokenHash {
    TokenHash(format!("sha:{token}"))
}

/// How the fake hasher hashes.
pub(super) fn phc(password: &str) -> PasswordHash {
    PasswordHash(format!("argon:{password}"))
}

/// A stored user of [`TENANT`].
pub(super) fn stored_user(id: u128, email: &str, verified: bool) -> User {
    User {
        id: UserId(Uuid::from_u128(id)),
        tenant_id: TENANT,
        email: Email::parse(email).unwrap(),
        display_name: None,
        password_hash: phc("old password 123"),
        email_verified: verified,
        digest: false,
        created_at: now(),
        updated_at: now(),
    }
}

pub(super) fn secret(s: &str) -> SecretString {
    SecretString::new(s)
}

/// The field and code of the only field error of a validation failure.
pub(super) fn field_error<T: std::fmt::Debug>(result: Result<T, IdentityError>) -> (String, String) {
    match result {
        Err(IdentityError::Validation(errors)) if errors.0.len() == 1 => {
            (errors.0[0].field.clone(), errors.0[0].code.clone())
        }
        other => panic!("expected one field error, got {other:?}"),
    }
}

/// Mocks of every identity port, with the shared plumbing answered.
pub(super) struct Harness {
    pub(super) uow: MockUnitOfWork,
    pub(super) users: MockUserRepository,
    pub(super) roles: MockRoleRepository,
    pub(super) refresh: MockRefreshTokenStore,
    pub(super) verification: MockVerificationTokenStore,
    pub(super) audit: MockAuditStore,
    pub(super) outbox: MockOutbox,
    pub(super) hasher: MockPasswordHasher,
    pub(super) tokens: MockOpaqueTokens,
    pub(super) notifier: MockNotifier,
    pub(super) resolver: MockPermissionResolver,
    pub(super) settings: IdentitySettings,
    pub(super) catalog: PermissionCatalog,
    pub(super) log: Log,
}

impl Harness {
    pub(super) fn new() -> Self {
        let log = Log::on_topic(IDENTITY_TOPIC);
        let mut tokens = MockOpaqueTokens::new();
        tokens.expect_generate().returning(|| SecretString::new(RAW_TOKEN));
        tokens.expect_hash().returning(hash_of);
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().returning(|p| Ok(phc(p.expose())));
        Self {
            uow: log.unit_of_work(),
            users: MockUserRepository::new(),
            roles: MockRoleRepository::new(),
            refresh: MockRefreshTokenStore::new(),
            verification: MockVerificationTokenStore::new(),
            audit: log.audit_store(),
            outbox: log.outbox(),
            hasher,
            tokens,
            notifier: MockNotifier::new(),
            resolver: MockPermissionResolver::new(),
            settings: IdentitySettings {
                public_url: "https://app.test".to_owned(),
                ..IdentitySettings::default()
            },
            catalog: PermissionCatalog::platform(),
            log,
        }
    }

    /// Expects one `template` mail to `to` carrying the raw token, sent only
    /// after commit; `data_ok` checks the rest of its data.
    pub(super) fn expect_token_mail(
        &mut self,
        to: &'static str,
        template: &'static str,
        data_ok: impl Fn(&serde_json::Value) -> bool + Send + Sync + 'static,
    ) {
        let committed = self.log.committed();
        self.notifier
            .expect_send_email_with_template()
            .withf(move |address, name, data| {
                committed() && address == to && name == template && data["token"] == RAW_TOKEN && data_ok(data)
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
    }

    /// The user manager over these mocks, and the log to inspect.
    pub(super) fn users(self) -> (UserManager, Log) {
        let manager = UserManager {
            uow: Arc::new(self.uow),
            users: Arc::new(self.users),
            roles: Arc::new(self.roles),
            refresh_tokens: Arc::new(self.refresh),
            verification_tokens: Arc::new(self.verification),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            hasher: Arc::new(self.hasher),
            tokens: Arc::new(self.tokens),
            notifier: Arc::new(self.notifier),
            permissions: Arc::new(self.resolver),
            clock: Arc::new(fixed_clock()),
            ids: Arc::new(counting_ids()),
            settings: self.settings,
            catalog: self.catalog,
        };
        (manager, self.log)
    }

    /// The role manager over these mocks, and the log to inspect.
    pub(super) fn roles(self) -> (RoleManager, Log) {
        let manager = RoleManager {
            uow: Arc::new(self.uow),
            roles: Arc::new(self.roles),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            permissions: Arc::new(self.resolver),
            clock: Arc::new(fixed_clock()),
            ids: Arc::new(counting_ids()),
            catalog: self.catalog,
        };
        (manager, self.log)
    }
}
