//! The audit store: transactional and batched appends, filters, paging and
//! tenant isolation.

use std::sync::Arc;

use platform_ports::StoreError;
use platform_ports::audit::AuditStore;
use platform_ports::audit::{AuditEntry, AuditFilter};
use platform_ports::model::{AuditId, PageRequest, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, audit_entry, committed, tenant};

async fn all(audit: &dyn AuditStore, t: TenantId, filter: &AuditFilter, limit: u32) -> Vec<AuditEntry> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = audit.query(t, filter, &PageRequest { limit, cursor }).await.unwrap();
        assert!(page.items.len() <= limit as usize);
        seen.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return seen,
        }
    }
}

fn ids(entries: &[AuditEntry]) -> Vec<AuditId> {
    entries.iter().map(|e| e.id).collect()
}

/// An entry appended in a unit of work appears with its commit; a batch
/// appears at once.
pub async fn audit_appends(audit: Arc<dyn AuditStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let in_tx = audit_entry(t, "user.created", at(1));
    let mut tx = uow.begin().await.unwrap();
    audit.append(&mut tx, &in_tx).await.unwrap();
    assert!(
        all(&*audit, t, &AuditFilter::default(), 10).await.is_empty(),
        "visible before commit"
    );
    tx.commit().await.unwrap();
    assert_eq!(all(&*audit, t, &AuditFilter::default(), 10).await, vec![in_tx.clone()]);

    let batch = [
        audit_entry(t, "login.failed", at(2)),
        audit_entry(t, "login.failed", at(3)),
    ];
    audit.append_batch(&batch).await.unwrap();
    audit.append_batch(&[]).await.unwrap();
    assert_eq!(
        ids(&all(&*audit, t, &AuditFilter::default(), 10).await),
        vec![batch[1].id, batch[0].id, in_tx.id]
    );
}

/// A batch that cannot be stored whole stores nothing.
pub async fn audit_batch_is_all_or_nothing(audit: Arc<dyn AuditStore>) {
    let t = tenant();
    let stored = audit_entry(t, "user.created", at(1));
    audit.append_batch(std::slice::from_ref(&stored)).await.unwrap();

    let fresh = audit_entry(t, "user.deleted", at(2));
    let clash = AuditEntry {
        action: "user.updated".to_owned(),
        ..stored.clone()
    };
    assert!(audit.append_batch(&[fresh.clone(), clash]).await.is_err());
    let twice = audit_entry(t, "user.locked", at(3));
    assert!(audit.append_batch(&[twice.clone(), twice]).await.is_err());
    assert_eq!(all(&*audit, t, &AuditFilter::default(), 10).await, vec![stored]);
}

/// Newest first; actor, action and target filters; `from` inclusive, `to` exclusive.
pub async fn audit_query_filters(audit: Arc<dyn AuditStore>) {
    let t = tenant();
    let (ada, alan) = (UserId::new(), UserId::new());
    let entry = |action: &str, actor: Option<UserId>, target: Option<&str>, second: i64| AuditEntry {
        actor_id: actor,
        target_id: target.map(str::to_owned),
        ..audit_entry(t, action, at(second))
    };
    let e = [
        entry("user.created", Some(ada), Some("u1"), 10),
        entry("user.updated", Some(ada), Some("u2"), 20),
        entry("user.created", Some(alan), Some("u2"), 30),
        entry("role.assigned", None, Some("u1"), 40),
        entry("user.created", Some(alan), None, 50),
    ];
    audit.append_batch(&e).await.unwrap();
    let query = async |filter: AuditFilter| ids(&all(&*audit, t, &filter, 2).await);

    assert_eq!(
        query(AuditFilter::default()).await,
        vec![e[4].id, e[3].id, e[2].id, e[1].id, e[0].id]
    );
    assert_eq!(
        query(AuditFilter {
            actor_id: Some(ada),
            ..AuditFilter::default()
        })
        .await,
        vec![e[1].id, e[0].id]
    );
    let created = AuditFilter {
        action: Some("user.created".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(query(created.clone()).await, vec![e[4].id, e[2].id, e[0].id]);
    assert_eq!(
        query(AuditFilter {
            target_id: Some("u2".to_owned()),
            ..AuditFilter::default()
        })
        .await,
        vec![e[2].id, e[1].id]
    );
    let window = AuditFilter {
        from: Some(at(20)),
        to: Some(at(40)),
        ..AuditFilter::default()
    };
    assert_eq!(query(window).await, vec![e[2].id, e[1].id]);
    let combined = AuditFilter {
        actor_id: Some(alan),
        from: Some(at(31)),
        ..created
    };
    assert_eq!(query(combined).await, vec![e[4].id]);
    assert!(
        query(AuditFilter {
            from: Some(at(40)),
            to: Some(at(20)),
            ..AuditFilter::default()
        })
        .await
        .is_empty()
    );
    assert!(
        query(AuditFilter {
            actor_id: Some(UserId::new()),
            ..AuditFilter::default()
        })
        .await
        .is_empty()
    );
}

/// Paging visits every entry once, newest first, entries sharing a
/// timestamp included; a foreign cursor is refused.
pub async fn audit_pages_walk_every_entry_once(audit: Arc<dyn AuditStore>) {
    let t = tenant();
    // Three entries per second, so page boundaries fall between equal timestamps.
    let entries: Vec<AuditEntry> = (0..90).map(|i| audit_entry(t, "user.read", at(i / 3))).collect();
    audit.append_batch(&entries).await.unwrap();
    let seen = all(&*audit, t, &AuditFilter::default(), 4).await;
    assert_eq!(seen.len(), entries.len());
    assert!(
        seen.windows(2).all(|w| w[0].occurred_at >= w[1].occurred_at),
        "not newest first"
    );
    let mut seen_ids = ids(&seen);
    seen_ids.sort();
    seen_ids.dedup();
    assert_eq!(seen_ids.len(), entries.len(), "an entry was served twice");

    let bad = audit
        .query(
            t,
            &AuditFilter::default(),
            &PageRequest {
                limit: 5,
                cursor: Some("%%%".to_owned()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Conflict(_))), "{bad:?}");
}

/// Tenant A never sees tenant B's entries.
pub async fn audit_isolated_by_tenant(audit: Arc<dyn AuditStore>, uow: Arc<dyn UnitOfWork>) {
    let (a, b) = (tenant(), tenant());
    let theirs = audit_entry(b, "user.created", at(1));
    committed(&*uow, async |tx| audit.append(tx, &theirs).await)
        .await
        .unwrap();
    audit
        .append_batch(&[audit_entry(b, "user.deleted", at(2))])
        .await
        .unwrap();
    let ours = audit_entry(a, "user.created", at(3));
    audit.append_batch(std::slice::from_ref(&ours)).await.unwrap();

    assert_eq!(all(&*audit, a, &AuditFilter::default(), 10).await, vec![ours]);
    let target = AuditFilter {
        action: Some("user.created".to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(&all(&*audit, b, &target, 10).await), vec![theirs.id]);
}
