use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use platform_ports::StoreError;
use platform_ports::audit::MockAuditStore;
use platform_ports::audit::{AuditAction, AuditFilter};
use platform_ports::audit::{AuditError, Auditor};
use platform_ports::clock::{MockClock, MockIdGenerator};
use platform_ports::model::{Actor, Page, PageRequest, RequestContext, TenantId, UserId};
use uuid::Uuid;

use super::AuditService;
use crate::meta;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn service(store: MockAuditStore) -> AuditService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let mut ids = MockIdGenerator::new();
    ids.expect_new_id().returning(|| Uuid::from_u128(7));
    let signer = super::HmacCheckpointSigner::new(Some("k".repeat(32).into()));
    AuditService::new(Arc::new(store), Arc::new(clock), Arc::new(ids), Arc::new(signer))
}

fn ctx(tenant: TenantId, user: UserId) -> RequestContext {
    RequestContext {
        request_id: "req-1".into(),
        tenant_id: tenant,
        actor: Some(Actor {
            user_id: user,
            roles: vec![],
            tenant_id: tenant,
            session_id: None,
            api_key: None,
        }),
        client_ip: Some("10.0.0.1".parse().unwrap()),
        user_agent: Some("tests".into()),
        ..RequestContext::default()
    }
}

#[tokio::test]
async fn record_builds_the_entry_from_the_context() {
    let (tenant, user) = (TenantId(Uuid::from_u128(1)), UserId(Uuid::from_u128(2)));
    let mut store = MockAuditStore::new();
    store
        .expect_append_batch()
        .withf(move |entries| {
            let [e] = entries else { return false };
            e.tenant_id == tenant
                && e.actor_id == Some(user)
                && e.action == "user.exported"
                && e.target_id.as_deref() == Some("x")
                && e.metadata == meta! { "rows" => 3 }
                && e.occurred_at == now()
                && e.request_id.as_deref() == Some("req-1")
                && e.ip.as_deref() == Some("10.0.0.1")
                && e.user_agent.as_deref() == Some("tests")
        })
        .times(1)
        .returning(|_| Ok(()));
    let action = AuditAction {
        action: "user.exported".into(),
        target_id: Some("x".into()),
        metadata: meta! { "rows" => 3 },
        ..AuditAction::default()
    };
    service(store).record(&ctx(tenant, user), action).await.unwrap();
}

#[tokio::test]
async fn the_action_can_name_another_actor() {
    let claimed = UserId(Uuid::from_u128(9));
    let mut store = MockAuditStore::new();
    store
        .expect_append_batch()
        .withf(move |entries| entries.len() == 1 && entries[0].actor_id == Some(claimed))
        .times(1)
        .returning(|_| Ok(()));
    let action = AuditAction {
        actor_id: Some(claimed),
        action: "auth.login.failed".into(),
        ..AuditAction::default()
    };
    let anonymous = RequestContext::system("r");
    service(store).record(&anonymous, action).await.unwrap();
}

#[tokio::test]
async fn a_store_failure_is_a_backend_error() {
    let mut store = MockAuditStore::new();
    store
        .expect_append_batch()
        .returning(|_| Err(StoreError::backend("disk full")));
    let err = service(store)
        .record(&RequestContext::system("r"), AuditAction::default())
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::Backend(_)), "{err:?}");
}

#[tokio::test]
async fn query_reads_the_callers_tenant() {
    let (tenant, user) = (TenantId(Uuid::from_u128(5)), UserId(Uuid::from_u128(6)));
    let filter = AuditFilter {
        action: Some("role.assigned".into()),
        ..AuditFilter::default()
    };
    let expected = filter.clone();
    let mut store = MockAuditStore::new();
    store
        .expect_query()
        .withf(move |t, f, p| *t == tenant && *f == expected && p.limit == 10)
        .times(1)
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![],
                next_cursor: Some("next".into()),
            })
        });
    let page = PageRequest::new(Some(10), None).unwrap();
    let result = service(store).query(&ctx(tenant, user), filter, page).await.unwrap();
    assert_eq!(result.next_cursor.as_deref(), Some("next"));
}

#[tokio::test]
async fn an_inverted_range_is_refused_before_the_store() {
    let filter = AuditFilter {
        from: Some(now()),
        to: Some(now() - TimeDelta::seconds(1)),
        ..AuditFilter::default()
    };
    // No expectation: reaching the store would fail the test.
    let err = service(MockAuditStore::new())
        .query(&RequestContext::system("r"), filter, PageRequest::default())
        .await
        .unwrap_err();
    let AuditError::Validation(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.0[0].field, "from");
}

#[tokio::test]
async fn a_foreign_cursor_is_a_validation_error() {
    let mut store = MockAuditStore::new();
    store
        .expect_query()
        .returning(|_, _, _| Err(StoreError::Conflict("invalid cursor".into())));
    let page = PageRequest::new(None, Some("zzz".into())).unwrap();
    let err = service(store)
        .query(&RequestContext::system("r"), AuditFilter::default(), page)
        .await
        .unwrap_err();
    let AuditError::Validation(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (errors.0[0].field.as_str(), errors.0[0].code.as_str()),
        ("cursor", "invalid")
    );
}
