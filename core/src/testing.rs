//! What the use-case tests of several modules share: the tenant and time
//! they act in, and mocks of the plumbing ports (unit of work, audit store,
//! outbox, clock, ids) that record what a use case wrote.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use platform_ports::audit::{AuditEntry, MockAuditStore};
use platform_ports::clock::{MockClock, MockIdGenerator};
use platform_ports::events::{Event, MockOutbox};
use platform_ports::model::{Actor, RequestContext, TenantId, TokenFamilyId, UserId};
use platform_ports::persistence::{MockUnitOfWork, Transaction};
use platform_ports::testing::{FakeTx, TxOutcome};
use uuid::Uuid;

/// The tenant every test acts in.
pub(crate) const TENANT: TenantId = TenantId(Uuid::from_u128(0x7e));

/// The fixed time of every test.
pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

/// An anonymous call in [`TENANT`].
pub(crate) fn anonymous() -> RequestContext {
    RequestContext {
        request_id: "req-anon".into(),
        tenant_id: TENANT,
        ..RequestContext::default()
    }
}

/// A call by `user` in [`TENANT`], from login session `session`.
pub(crate) fn as_user(user: UserId, session: Option<TokenFamilyId>) -> RequestContext {
    RequestContext {
        request_id: "req-user".into(),
        tenant_id: TENANT,
        actor: Some(Actor {
            user_id: user,
            roles: vec![],
            tenant_id: TENANT,
            session_id: session,
            api_key: None,
        }),
        ..RequestContext::default()
    }
}

/// A clock stopped at [`now`].
pub(crate) fn fixed_clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    clock
}

/// Ids counting up from `0x1000`, so every run sees the same ones.
pub(crate) fn counting_ids() -> MockIdGenerator {
    let counter = AtomicU64::new(0x1000);
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id()
        .returning(move || Uuid::from_u128(u128::from(counter.fetch_add(1, Ordering::SeqCst))));
    ids
}

/// What the use case did, readable after the call: the units of work it
/// opened, the audit entries it appended and the events it enqueued.
#[derive(Clone)]
pub(crate) struct Log {
    /// The topic every event must go to.
    topic: &'static str,
    tx: FakeTx,
    begins: Arc<AtomicUsize>,
    audits: Arc<Mutex<Vec<AuditEntry>>>,
    events: Arc<Mutex<Vec<(String, Event)>>>,
}

impl Log {
    /// An empty log of a module that publishes on `topic`.
    pub(crate) fn on_topic(topic: &'static str) -> Self {
        Self {
            topic,
            tx: FakeTx::new(),
            begins: Arc::default(),
            audits: Arc::default(),
            events: Arc::default(),
        }
    }

    /// A unit of work whose transactions all report to this log.
    pub(crate) fn unit_of_work(&self) -> MockUnitOfWork {
        let (tx, begins) = (self.tx.clone(), Arc::clone(&self.begins));
        let mut uow = MockUnitOfWork::new();
        uow.expect_begin().returning(move || {
            begins.fetch_add(1, Ordering::SeqCst);
            Ok(Transaction::new(tx.clone()))
        });
        uow
    }

    /// An audit store that appends to this log.
    pub(crate) fn audit_store(&self) -> MockAuditStore {
        let audits = Arc::clone(&self.audits);
        let mut audit = MockAuditStore::new();
        audit.expect_append().returning(move |_, entry| {
            audits.lock().unwrap().push(entry.clone());
            Ok(())
        });
        audit
    }

    /// An outbox that enqueues into this log.
    pub(crate) fn outbox(&self) -> MockOutbox {
        let events = Arc::clone(&self.events);
        let mut outbox = MockOutbox::new();
        outbox.expect_enqueue().returning(move |_, topic, event| {
            events.lock().unwrap().push((topic.to_owned(), event.clone()));
            Ok(())
        });
        outbox
    }

    /// How the (last) unit of work ended.
    pub(crate) fn outcome(&self) -> TxOutcome {
        self.tx.outcome()
    }

    /// How many units of work were opened.
    pub(crate) fn begins(&self) -> usize {
        self.begins.load(Ordering::SeqCst)
    }

    /// A predicate for expectations that must only run after commit.
    pub(crate) fn committed(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let tx = self.tx.clone();
        move || tx.outcome() == TxOutcome::Committed
    }

    /// The audit entries appended, in order.
    pub(crate) fn audits(&self) -> Vec<AuditEntry> {
        self.audits.lock().unwrap().clone()
    }

    /// The audit actions appended, in order.
    pub(crate) fn actions(&self) -> Vec<String> {
        self.audits().into_iter().map(|e| e.action).collect()
    }

    /// The appended entry with this action.
    pub(crate) fn audit(&self, action: &str) -> AuditEntry {
        self.audits()
            .into_iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no `{action}` audit entry in {:?}", self.actions()))
    }

    /// The events enqueued, in order (all on the module's topic).
    pub(crate) fn events(&self) -> Vec<Event> {
        let events = self.events.lock().unwrap();
        assert!(events.iter().all(|(topic, _)| topic == self.topic), "wrong topic");
        events.iter().map(|(_, e)| e.clone()).collect()
    }

    /// The event types enqueued, in order.
    pub(crate) fn event_types(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.event_type).collect()
    }

    /// The enqueued event of this type.
    pub(crate) fn event(&self, event_type: &str) -> Event {
        self.events()
            .into_iter()
            .find(|e| e.event_type == event_type)
            .unwrap_or_else(|| panic!("no `{event_type}` event in {:?}", self.event_types()))
    }

    /// Nothing was opened, recorded or published.
    pub(crate) fn assert_untouched(&self) {
        assert_eq!(self.begins(), 0);
        assert!(self.actions().is_empty());
        assert!(self.events.lock().unwrap().is_empty());
    }
}
