//! The audit hash chain: every store links each tenant's entries in commit
//! order with the same canonical hash, whoever writes, and keeps signed
//! checkpoints.

use std::sync::Arc;

use platform_ports::audit::{AuditStore, ChainHash, ChainHead, ChainedEntry, Checkpoint, chain_hash};
use platform_ports::model::{AuditId, TenantId};
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{at, audit_entry, committed, now, tenant};

/// The tenant's whole chain, read in pages of `page`.
pub async fn whole_chain(audit: &dyn AuditStore, t: TenantId, page: u32) -> Vec<ChainedEntry> {
    let mut links = Vec::new();
    loop {
        let after = links.last().map_or(0, |l: &ChainedEntry| l.seq);
        let next = audit.chain(t, after, page).await.unwrap();
        assert!(next.len() <= page as usize);
        if next.is_empty() {
            return links;
        }
        links.extend(next);
    }
}

/// Asserts `links` are 1..=n, each linked to the one before and hashed
/// canonically; returns the ids in chain order.
pub fn assert_linear(links: &[ChainedEntry]) -> Vec<AuditId> {
    let mut prev = ChainHash::GENESIS;
    for (i, link) in links.iter().enumerate() {
        assert_eq!(link.seq, i as u64 + 1, "sequence of {:?}", link.entry.id);
        assert_eq!(link.prev_hash, prev, "link of seq {}", link.seq);
        assert_eq!(
            link.hash,
            chain_hash(&link.entry, link.seq, &prev),
            "hash of seq {}",
            link.seq
        );
        prev = link.hash;
    }
    links.iter().map(|l| l.entry.id).collect()
}

/// Transactional and batched appends join one chain per tenant in commit
/// order; the head, the tenant list and paging agree with it.
pub async fn audit_chain_links_in_commit_order(audit: Arc<dyn AuditStore>, uow: Arc<dyn UnitOfWork>) {
    let (t, other) = (tenant(), tenant());
    assert_eq!(audit.chain_head(t).await.unwrap(), None);
    let first = audit_entry(t, "user.created", at(1));
    committed(&*uow, async |tx| audit.append(tx, &first).await)
        .await
        .unwrap();
    // Written later but stamped earlier: the chain follows commit order, not time.
    let batch = [
        audit_entry(t, "login.failed", at(0)),
        audit_entry(other, "login.failed", at(2)),
        audit_entry(t, "user.read", at(3)),
    ];
    audit.append_batch(&batch).await.unwrap();
    let last = audit_entry(t, "user.deleted", at(4));
    committed(&*uow, async |tx| audit.append(tx, &last).await)
        .await
        .unwrap();

    let links = whole_chain(&*audit, t, 2).await;
    assert_eq!(assert_linear(&links), vec![first.id, batch[0].id, batch[2].id, last.id]);
    assert_eq!(links[1].entry, batch[0], "the entry reads back as written");
    let others = whole_chain(&*audit, other, 10).await;
    assert_eq!(assert_linear(&others), vec![batch[1].id]);
    assert_eq!(
        audit.chain_head(t).await.unwrap(),
        Some(ChainHead {
            tenant_id: t,
            seq: 4,
            hash: links[3].hash
        })
    );
    let tenants = audit.chained_tenants().await.unwrap();
    assert!(tenants.contains(&t) && tenants.contains(&other), "{tenants:?}");
    assert_eq!(audit.chain(t, 4, 10).await.unwrap(), vec![]);
}

/// A refused batch or a rolled-back unit of work leaves no hole in the chain.
pub async fn audit_chain_skips_nothing_on_failure(audit: Arc<dyn AuditStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let kept = audit_entry(t, "user.created", now());
    audit.append_batch(std::slice::from_ref(&kept)).await.unwrap();
    let twice = audit_entry(t, "user.locked", now());
    assert!(audit.append_batch(&[twice.clone(), twice]).await.is_err());
    let mut tx = uow.begin().await.unwrap();
    audit
        .append(&mut tx, &audit_entry(t, "user.updated", now()))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let after = audit_entry(t, "user.deleted", now());
    audit.append_batch(std::slice::from_ref(&after)).await.unwrap();
    assert_eq!(
        assert_linear(&whole_chain(&*audit, t, 10).await),
        vec![kept.id, after.id]
    );
}

/// Tasks appending at once (batches and units of work) still build one
/// line: every entry once, no gap, no fork.
pub async fn audit_chain_is_linear_under_concurrent_appenders(audit: Arc<dyn AuditStore>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let (tasks, each) = (8usize, 12usize);
    let mut handles = Vec::new();
    for task in 0..tasks {
        let (audit, uow) = (audit.clone(), uow.clone());
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..each {
                let entry = audit_entry(t, "user.read", now());
                ids.push(entry.id);
                if (task + i) % 2 == 0 {
                    audit.append_batch(std::slice::from_ref(&entry)).await.unwrap();
                } else {
                    committed(&*uow, async |tx| audit.append(tx, &entry).await)
                        .await
                        .unwrap();
                }
            }
            ids
        }));
    }
    let mut written: Vec<AuditId> = Vec::new();
    for handle in handles {
        written.extend(handle.await.unwrap());
    }
    let mut chained = assert_linear(&whole_chain(&*audit, t, 25).await);
    assert_eq!(chained.len(), tasks * each);
    chained.sort();
    written.sort();
    assert_eq!(chained, written);
}

/// Checkpoints: the latest by sequence number wins; a second one for the
/// same place is ignored.
pub async fn audit_checkpoints_keep_the_latest(audit: Arc<dyn AuditStore>) {
    let t = tenant();
    assert_eq!(audit.latest_checkpoint(t).await.unwrap(), None);
    let checkpoint = |seq: u64, mac: u8| Checkpoint {
        head: ChainHead {
            tenant_id: t,
            seq,
            hash: ChainHash([seq as u8; 32]),
        },
        mac: vec![mac; 32],
        signed_at: at(seq as i64),
    };
    audit.save_checkpoint(&checkpoint(5, 1)).await.unwrap();
    audit.save_checkpoint(&checkpoint(9, 1)).await.unwrap();
    audit.save_checkpoint(&checkpoint(7, 1)).await.unwrap();
    audit.save_checkpoint(&checkpoint(9, 2)).await.unwrap();
    assert_eq!(audit.latest_checkpoint(t).await.unwrap(), Some(checkpoint(9, 1)));
    assert_eq!(audit.latest_checkpoint(tenant()).await.unwrap(), None);
}
