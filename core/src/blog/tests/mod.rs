//! Use-case tests of the blog with mockall mocks of every port.
//!
//! The harness answers the plumbing (unit of work, clock, ids, audit store,
//! outbox) and records what was appended and enqueued; each test sets the
//! expectations of the repository and the resolver. A port with no
//! expectation panics when called, so "not called" needs no code.

mod changes;
mod create;
mod read;
mod workflow;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use platform_ports::StoreError;
use platform_ports::audit::AuditEntry;
use platform_ports::audit::MockAuditStore;
use platform_ports::authz::MockPermissionResolver;
use platform_ports::blog::MockPostRepository;
use platform_ports::blog::{BlogError, PostInput};
use platform_ports::blog::{Post, PostStatus};
use platform_ports::clock::{MockClock, MockIdGenerator};
use platform_ports::events::Event;
use platform_ports::events::MockOutbox;
use platform_ports::model::{Actor, PostId, RequestContext, TenantId, UserId};
use platform_ports::persistence::{MockUnitOfWork, Transaction};
use platform_ports::testing::{FakeTx, TxOutcome};
use uuid::Uuid;

use super::{BLOG_TOPIC, BlogManager};

/// The tenant every test acts in.
pub(super) const TENANT: TenantId = TenantId(Uuid::from_u128(0x7e));
/// The author of the stored posts.
pub(super) const AUTHOR: UserId = UserId(Uuid::from_u128(0xa1));
/// Someone else.
pub(super) const OTHER: UserId = UserId(Uuid::from_u128(0xb2));
/// The stored post's id.
pub(super) const POST: PostId = PostId(Uuid::from_u128(0x9057));

/// The fixed time of every test.
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

/// When the stored posts were written.
pub(super) fn earlier() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

/// A post of `author` in [`TENANT`] with this status.
pub(super) fn stored(author: UserId, status: PostStatus) -> Post {
    Post {
        id: POST,
        tenant_id: TENANT,
        author_id: author,
        title: "Hello".to_owned(),
        content: "First post.".to_owned(),
        status,
        tags: vec!["rust".to_owned()],
        created_at: earlier(),
        updated_at: earlier(),
        published_at: (status != PostStatus::Draft).then(earlier),
    }
}

/// Input with this title, a body and tags.
pub(super) fn input(title: &str, tags: &[&str]) -> PostInput {
    PostInput {
        title: title.to_owned(),
        content: "Some words.".to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
    }
}

/// A call by `user` in [`TENANT`].
pub(super) fn as_user(user: UserId) -> RequestContext {
    RequestContext {
        request_id: "req-blog".into(),
        tenant_id: TENANT,
        actor: Some(Actor {
            user_id: user,
            roles: vec![],
            tenant_id: TENANT,
            session_id: None,
        }),
        ..RequestContext::default()
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

/// The fields and codes of a validation failure.
pub(super) fn field_errors<T: std::fmt::Debug>(result: Result<T, BlogError>) -> Vec<(String, String)> {
    match result {
        Err(BlogError::Validation(errors)) => errors.0.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A backend failure of a store.
pub(super) fn broken() -> StoreError {
    StoreError::backend("disk on fire")
}

/// Mocks of every blog port, with the shared plumbing answered.
pub(super) struct Harness {
    pub(super) posts: MockPostRepository,
    pub(super) resolver: MockPermissionResolver,
    pub(super) audit: MockAuditStore,
    pub(super) outbox: MockOutbox,
    pub(super) log: Log,
}

/// What the use case did, readable after the call.
#[derive(Clone, Default)]
pub(super) struct Log {
    tx: FakeTx,
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

    /// The audit entries appended, in order.
    pub(super) fn audits(&self) -> Vec<AuditEntry> {
        self.audits.lock().unwrap().clone()
    }

    /// The audit actions appended, in order.
    pub(super) fn actions(&self) -> Vec<String> {
        self.audits().into_iter().map(|e| e.action).collect()
    }

    /// The events enqueued, in order (all on the blog topic).
    pub(super) fn events(&self) -> Vec<Event> {
        let events = self.events.lock().unwrap();
        assert!(events.iter().all(|(topic, _)| topic == BLOG_TOPIC), "wrong topic");
        events.iter().map(|(_, e)| e.clone()).collect()
    }

    /// The event types enqueued, in order.
    pub(super) fn event_types(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.event_type).collect()
    }

    /// Nothing was opened, recorded or published.
    pub(super) fn assert_untouched(&self) {
        assert_eq!(self.begins(), 0);
        assert!(self.actions().is_empty());
        assert!(self.events.lock().unwrap().is_empty());
    }
}

impl Harness {
    pub(super) fn new() -> Self {
        let log = Log::default();
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
        Self {
            posts: MockPostRepository::new(),
            resolver: MockPermissionResolver::new(),
            audit,
            outbox,
            log,
        }
    }

    /// The repository holds `post`.
    pub(super) fn holding(mut self, post: Post) -> Self {
        self.posts
            .expect_find_by_id()
            .withf(|tenant, id| *tenant == TENANT && *id == POST)
            .returning(move |_, _| Ok(Some(post.clone())));
        self
    }

    /// The resolver says whether `user` holds `blog.post.manage`, once.
    pub(super) fn manager(mut self, user: UserId, holds: bool) -> Self {
        self.resolver
            .expect_has_permission()
            .withf(move |tenant, u, p| *tenant == TENANT && *u == user && p.as_str() == "blog.post.manage")
            .times(1)
            .returning(move |_, _, _| Ok(holds));
        self
    }

    /// The blog manager over these mocks, and the log to inspect.
    pub(super) fn build(self) -> (BlogManager, Log) {
        let mut uow = MockUnitOfWork::new();
        let (tx, begins) = (self.log.tx.clone(), Arc::clone(&self.log.begins));
        uow.expect_begin().returning(move || {
            begins.fetch_add(1, Ordering::SeqCst);
            Ok(Transaction::new(tx.clone()))
        });
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        let counter = AtomicU64::new(0x1000);
        let mut ids = MockIdGenerator::new();
        ids.expect_new_id()
            .returning(move || Uuid::from_u128(u128::from(counter.fetch_add(1, Ordering::SeqCst))));
        let manager = BlogManager {
            uow: Arc::new(uow),
            posts: Arc::new(self.posts),
            audit: Arc::new(self.audit),
            outbox: Arc::new(self.outbox),
            permissions: Arc::new(self.resolver),
            clock: Arc::new(clock),
            ids: Arc::new(ids),
        };
        (manager, self.log)
    }
}
