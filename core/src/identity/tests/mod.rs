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

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use platform_ports::audit::AuditEntry;
use platform_ports::audit::MockAuditStore;
use platform_ports::auth::MockOpaqueTokens;
use platform_ports::auth::TokenHash;
use platform_ports::auth::{MockRefreshTokenStore, MockVerificationTokenStore};
use platform_ports::authz::MockPermissionResolver;
use platform_ports::clock::{MockClock, MockIdGenerator};
use platform_ports::events::Event;
use platform_ports::events::MockOutbox;
use platform_ports::identity::IdentityError;
use platform_ports::identity::MockPasswordHasher;
use platform_ports::identity::{MockRoleRepository, MockUserRepository};
use platform_ports::identity::{PasswordHash, User};
use platform_ports::model::{Actor, Email, RequestContext, SecretString, TenantId, TokenFamilyId, UserId};
use platform_ports::notify::MockNotifier;
use platform_ports::persistence::{MockUnitOfWork, Transaction};
use platform_ports::testing::{FakeTx, TxOutcome};
use uuid::Uuid;

use super::{IdentitySettings, PermissionCatalog, RoleManager, UserManager};

/// The tenant every test acts in.
pub(super) const TENANT: TenantId = TenantId(Uuid::from_u128(0x7e));
/// The raw token the fake token generator hands out.
pub(super) const RAW_TOKEN: &str = "raw-token";

/// The fixed time of every test.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

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
        created_at: now(),
        updated_at: now(),
    }
}

/// An anonymous call in [`TENANT`].
pub(super) fn anonymous() -> RequestContext {
    RequestContext {
        request_id: "req-anon".into(),
        tenant_id: TENANT,
        ..RequestContext::default()
    }
}

/// A call by `user` in [`TENANT`], from login session `session`.
pub(super) fn as_user(user: UserId, session: Option<TokenFamilyId>) -> RequestContext {
    RequestContext {
        request_id: "req-user".into(),
        tenant_id: TENANT,
        actor: Some(Actor {
            user_id: user,
            roles: vec![],
            tenant_id: TENANT,
            session_id: session,
        }),
        ..RequestContext::default()
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

/// What the use case did, readable after the call.
#[derive(Clone, Default)]
pub(super) struct Log {
    pub(super) tx: FakeTx,
    begins: Arc<AtomicUsize>,
    audits: Arc<Mutex<Vec<AuditEntry>>>,
    events: Arc<Mutex<Vec<(String, Event)>>>,
}

impl Log {
    /// How the (last) unit of work ended.
    pub(super) fn outcome(&self) -> TxOutcome {
        self.tx.outcome()
    }

    /// How many units of work were opened.
    pub(super) fn begins(&self) -> usize {
        self.begins.load(Ordering::SeqCst)
    }

    /// A predicate for expectations that must only run after commit.
    pub(super) fn committed(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let tx = self.tx.clone();
        move || tx.outcome() == TxOutcome::Committed
    }

    /// The audit actions appended, in order.
    pub(super) fn actions(&self) -> Vec<String> {
        self.audits.lock().unwrap().iter().map(|e| e.action.clone()).collect()
    }

    /// The appended entry with this action.
    pub(super) fn audit(&self, action: &str) -> AuditEntry {
        self.audits
            .lock()
            .unwrap()
            .iter()
            .find(|e| e.action == action)
            .cloned()
            .unwrap_or_else(|| panic!("no `{action}` audit entry in {:?}", self.actions()))
    }

    /// Every appended entry.
    pub(super) fn audits(&self) -> Vec<AuditEntry> {
        self.audits.lock().unwrap().clone()
    }

    /// The event types enqueued, in order (all on the identity topic).
    pub(super) fn event_types(&self) -> Vec<String> {
        let events = self.events.lock().unwrap();
        assert!(events.iter().all(|(topic, _)| topic == crate::support::IDENTITY_TOPIC));
        events.iter().map(|(_, e)| e.event_type.clone()).collect()
    }

    /// The enqueued event of this type.
    pub(super) fn event(&self, event_type: &str) -> Event {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e)
            .find(|e| e.event_type == event_type)
            .cloned()
            .unwrap_or_else(|| panic!("no `{event_type}` event in {:?}", self.event_types()))
    }
}

impl Harness {
    pub(super) fn new() -> Self {
        let log = Log::default();
        let mut uow = MockUnitOfWork::new();
        let (tx, begins) = (log.tx.clone(), Arc::clone(&log.begins));
        uow.expect_begin().returning(move || {
            begins.fetch_add(1, Ordering::SeqCst);
            Ok(Transaction::new(tx.clone()))
        });
        let mut audit = MockAuditStore::new();
        let audits = Arc::clone(&log.audits);
        audit.expect_append().returning(move |_, entry| {
            audits.lock().unwrap().push(entry.clone());
            Ok(())
        });
        let mut outbox = MockOutbox::new();
        let events = Arc::clone(&log.events);
        outbox.expect_enqueue().returning(move |_, topic, event| {
            events.lock().unwrap().push((topic.to_owned(), event.clone()));
            Ok(())
        });
        let mut tokens = MockOpaqueTokens::new();
        tokens.expect_generate().returning(|| SecretString::new(RAW_TOKEN));
        tokens.expect_hash().returning(hash_of);
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_hash().returning(|p| Ok(phc(p.expose())));
        Self {
            uow,
            users: MockUserRepository::new(),
            roles: MockRoleRepository::new(),
            refresh: MockRefreshTokenStore::new(),
            verification: MockVerificationTokenStore::new(),
            audit,
            outbox,
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

/// A clock stopped at [`now`].
fn fixed_clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    clock
}

/// Ids counting up from `0x1000`, so every test sees the same ones.
fn counting_ids() -> MockIdGenerator {
    let counter = AtomicU64::new(0x1000);
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id()
        .returning(move || Uuid::from_u128(u128::from(counter.fetch_add(1, Ordering::SeqCst))));
    ids
}
