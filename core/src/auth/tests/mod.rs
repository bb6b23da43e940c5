//! Use-case tests of the [`AuthService`] against mockall mocks of its ports.

mod login;
mod refresh;
mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use platform_ports::audit::MockAuditStore;
use platform_ports::auth::MockRefreshTokenStore;
use platform_ports::auth::{MockOpaqueTokens, MockTokenCodec};
use platform_ports::auth::{RefreshTokenRecord, TokenHash};
use platform_ports::clock::{MockClock, MockIdGenerator};
use platform_ports::identity::MockPasswordHasher;
use platform_ports::identity::{MockRoleRepository, MockUserRepository};
use platform_ports::identity::{PasswordHash, Role, User};
use platform_ports::model::{
    Email, RefreshTokenId, RequestContext, RoleId, SecretString, TenantId, TokenFamilyId, UserId,
};
use platform_ports::persistence::{MockUnitOfWork, Transaction};
use platform_ports::testing::FakeTx;
use uuid::Uuid;

use super::{AuthService, AuthSettings};

/// Access-token lifetime in the tests' settings.
const ACCESS_TTL: i64 = 900;
/// Refresh-token lifetime in the tests' settings.
const REFRESH_TTL: i64 = 7 * 24 * 3600;
/// Reuse grace window in the tests' settings.
const GRACE: i64 = 10;
/// The refresh token the mocked generator makes.
const NEW_REFRESH: &str = "refresh-generated";

fn settings() -> AuthSettings {
    AuthSettings {
        issuer: "platform".into(),
        audience: "platform-api".into(),
        access_token_ttl: Duration::from_secs(ACCESS_TTL.unsigned_abs()),
        refresh_token_ttl: Duration::from_secs(REFRESH_TTL.unsigned_abs()),
        refresh_reuse_grace: Duration::from_secs(GRACE.unsigned_abs()),
        require_verified_email: false,
        claims_cache_capacity: 100,
    }
}

/// The stored form of a token in these tests (the mocked `OpaqueTokens::hash`).
fn hashed(token: &str) -> TokenHash {
    TokenHash(format!("sha256({token})"))
}

/// The successor of a token in these tests (the mocked `OpaqueTokens::successor`).
fn successor_of(token: &str) -> String {
    format!("{token}>next")
}

fn tenant() -> TenantId {
    TenantId(Uuid::from_u128(42))
}

fn ctx() -> RequestContext {
    RequestContext {
        request_id: "req-1".into(),
        tenant_id: tenant(),
        ..RequestContext::default()
    }
}

fn user(verified: bool) -> User {
    let at = Utc.timestamp_opt(1_600_000_000, 0).single().unwrap();
    User {
        id: UserId::new(),
        tenant_id: tenant(),
        email: Email::parse("ada@example.com").unwrap(),
        display_name: None,
        password_hash: PasswordHash("$argon2id$v=19$stored".into()),
        email_verified: verified,
        digest: false,
        created_at: at,
        updated_at: at,
    }
}

fn role(name: &str) -> Role {
    let at = Utc.timestamp_opt(1_600_000_000, 0).single().unwrap();
    Role {
        id: RoleId::new(),
        tenant_id: tenant(),
        name: name.into(),
        description: None,
        permissions: vec![],
        created_at: at,
        updated_at: at,
    }
}

/// A live, never-rotated refresh-token record for `token`, owned by `owner`.
fn record(token: &str, owner: &User, now: DateTime<Utc>) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: RefreshTokenId::new(),
        family_id: TokenFamilyId::new(),
        user_id: owner.id,
        tenant_id: owner.tenant_id,
        token_hash: hashed(token),
        created_at: now - chrono::Duration::hours(1),
        expires_at: now + chrono::Duration::days(6),
        rotated_at: None,
        replaced_by: None,
        revoked_at: None,
    }
}

/// The mocks of every port, with the plumbing (unit of work, clock, ids,
/// opaque tokens) already answering; each test sets what it checks.
struct Harness {
    uow: MockUnitOfWork,
    users: MockUserRepository,
    roles: MockRoleRepository,
    tokens: MockRefreshTokenStore,
    audit: MockAuditStore,
    hasher: MockPasswordHasher,
    codec: MockTokenCodec,
    opaque: MockOpaqueTokens,
    clock: MockClock,
    ids: MockIdGenerator,
    settings: AuthSettings,
    /// Every transaction the unit of work opens shares this outcome.
    tx: FakeTx,
    /// The mocked clock's time, in seconds since the epoch.
    now: Arc<AtomicI64>,
}

impl Harness {
    fn new() -> Self {
        let tx = FakeTx::new();
        let mut uow = MockUnitOfWork::new();
        let shared = tx.clone();
        uow.expect_begin()
            .returning(move || Ok(Transaction::new(shared.clone())));

        let now = Arc::new(AtomicI64::new(1_700_000_000));
        let mut clock = MockClock::new();
        let time = Arc::clone(&now);
        clock
            .expect_now()
            .returning(move || Utc.timestamp_opt(time.load(Ordering::SeqCst), 0).single().unwrap());

        let mut ids = MockIdGenerator::new();
        ids.expect_new_id().returning(Uuid::now_v7);

        let mut opaque = MockOpaqueTokens::new();
        opaque.expect_generate().returning(|| SecretString::new(NEW_REFRESH));
        opaque.expect_hash().returning(hashed);
        opaque
            .expect_successor()
            .returning(|parent| SecretString::new(successor_of(parent)));

        Self {
            uow,
            users: MockUserRepository::new(),
            roles: MockRoleRepository::new(),
            tokens: MockRefreshTokenStore::new(),
            audit: MockAuditStore::new(),
            hasher: MockPasswordHasher::new(),
            codec: MockTokenCodec::new(),
            opaque,
            clock,
            ids,
            settings: settings(),
            tx,
            now,
        }
    }

    /// The mocked clock's current time.
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.now.load(Ordering::SeqCst), 0).single().unwrap()
    }

    /// The user's roles are `names`.
    fn with_roles(&mut self, names: &'static [&'static str]) {
        self.roles
            .expect_roles_of_user()
            .returning(move |_, _| Ok(names.iter().map(|n| role(n)).collect()));
    }

    /// The codec signs anything as `access-token`.
    fn signing(&mut self) {
        self.codec.expect_encode().returning(|_| Ok("access-token".to_owned()));
    }

    /// The service as shaku builds it: field by field, the claims cache
    /// still unsized (`AuthServiceParameters` has `settings` only).
    fn build(self) -> (AuthService, FakeTx, Arc<AtomicI64>) {
        let super::AuthServiceParameters { settings } = super::AuthServiceParameters {
            settings: self.settings,
        };
        let service = AuthService {
            uow: Arc::new(self.uow),
            users: Arc::new(self.users),
            roles: Arc::new(self.roles),
            refresh_tokens: Arc::new(self.tokens),
            audit: Arc::new(self.audit),
            hasher: Arc::new(self.hasher),
            codec: Arc::new(self.codec),
            opaque: Arc::new(self.opaque),
            clock: Arc::new(self.clock),
            ids: Arc::new(self.ids),
            settings,
            claims_cache: std::sync::OnceLock::new(),
        };
        (service, self.tx, self.now)
    }
}
