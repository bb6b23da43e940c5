//! The audit chain in PostgreSQL under attack: rows edited, removed or
//! reordered directly by the table owner (the append-only trigger disabled,
//! as an intruder with owner rights would) are named by core's verifier; a
//! removed tail is caught by the signed checkpoint; writers on several
//! "instances" (pools and batched writers) still build one line.
//!
//! Here rather than in the adapter's tests because it composes the adapter
//! with core's verifier and batched writer (`.ci/check-deps.sh`).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../adapters/postgres/tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use platform_adapter_postgres::{PgAuditStore, PgDatabase, PgUnitOfWork};
use platform_contract::audit_chain::{assert_linear, whole_chain};
use platform_contract::fixtures::{audit_entry, committed, now, tenant};
use platform_core::audit::{
    AuditWriterSettings, BatchedAuditWriter, HmacCheckpointSigner, verify_chain, write_checkpoints,
};
use platform_core::clock::SystemClock;
use platform_ports::audit::{AuditEntry, AuditStore, ChainFault, ChainReport};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::{AuditId, SecretString, TenantId};
use support::TestSchema;

fn signer() -> HmacCheckpointSigner {
    HmacCheckpointSigner::new(Some(SecretString::new("test-audit-checkpoint-key-0123456789abcdef")))
}

/// A chain of `n` entries of a fresh tenant, half through units of work.
async fn chain_of(db: &PgDatabase, n: usize) -> (PgAuditStore, TenantId, Vec<AuditId>) {
    let audit = PgAuditStore::new(db.clone());
    let uow = PgUnitOfWork::new(db.clone());
    let t = tenant();
    let mut ids = Vec::new();
    for i in 0..n {
        let entry = audit_entry(t, &format!("action.{i}"), now());
        ids.push(entry.id);
        if i % 2 == 0 {
            audit.append_batch(std::slice::from_ref(&entry)).await.unwrap();
        } else {
            committed(&uow, async |tx| audit.append(tx, &entry).await)
                .await
                .unwrap();
        }
    }
    (audit, t, ids)
}

async fn verify(audit: &PgAuditStore, t: TenantId) -> ChainReport {
    verify_chain(audit, &signer(), t).await.unwrap()
}

/// Runs `sql` as the owner with the append-only trigger off.
async fn tamper(db: &PgDatabase, sql: &str) {
    let statements = format!(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; {sql}; \
         ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;"
    );
    // Only ids this test generated are formatted in.
    sqlx::raw_sql(sqlx::AssertSqlSafe(statements))
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_row_is_named() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let (audit, t, ids) = chain_of(&schema.db, 6).await;
    assert_eq!(verify(&audit, t).await.verified, 6);
    // The trigger still refuses the same edit.
    assert!(
        sqlx::query("UPDATE audit_log SET action = 'x'")
            .execute(schema.owner.pool())
            .await
            .is_err()
    );

    tamper(
        &schema.owner,
        &format!("UPDATE audit_log SET action = 'user.forged' WHERE id = '{}'", ids[3]),
    )
    .await;
    let report = verify(&audit, t).await;
    let broken = report.broken.unwrap();
    assert_eq!((broken.entry_id, broken.seq), (Some(ids[3]), 4));
    assert!(matches!(broken.fault, ChainFault::ContentHash { .. }), "{broken:?}");
    assert_eq!(report.verified, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_row_with_a_recomputed_hash_breaks_the_next_link() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let (audit, t, ids) = chain_of(&schema.db, 4).await;
    // The intruder edits metadata (jsonb) and stores a hash they made up.
    tamper(
        &schema.owner,
        &format!(
            "UPDATE audit_log SET metadata = '{{\"check\": false}}', hash = sha256('forged'::bytea) WHERE id = '{}'",
            ids[1]
        ),
    )
    .await;
    let broken = verify(&audit, t).await.broken.unwrap();
    assert_eq!(broken.entry_id, Some(ids[1]));
    assert!(matches!(broken.fault, ChainFault::ContentHash { .. }), "{broken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_row_is_a_gap_named_at_the_next_entry() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let (audit, t, ids) = chain_of(&schema.db, 5).await;
    tamper(&schema.owner, &format!("DELETE FROM audit_log WHERE id = '{}'", ids[2])).await;
    let broken = verify(&audit, t).await.broken.unwrap();
    assert_eq!((broken.entry_id, broken.seq), (Some(ids[3]), 4));
    assert_eq!(broken.fault, ChainFault::Sequence { expected: 3, found: 4 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_rows_are_named() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let (audit, t, ids) = chain_of(&schema.db, 5).await;
    // Swap the places of the 2nd and 3rd entries (through a free number:
    // (tenant, seq) is unique).
    tamper(
        &schema.owner,
        &format!(
            "UPDATE audit_log SET seq = 1000 WHERE id = '{a}'; \
             UPDATE audit_log SET seq = 2 WHERE id = '{b}'; \
             UPDATE audit_log SET seq = 3 WHERE id = '{a}'",
            a = ids[1],
            b = ids[2]
        ),
    )
    .await;
    let broken = verify(&audit, t).await.broken.unwrap();
    assert_eq!((broken.entry_id, broken.seq), (Some(ids[2]), 2));
    assert!(matches!(broken.fault, ChainFault::PreviousHash { .. }), "{broken:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_tail_is_caught_by_the_signed_checkpoint() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let (audit, t, ids) = chain_of(&schema.db, 6).await;
    assert_eq!(write_checkpoints(&audit, &signer(), &SystemClock).await.unwrap(), 1);
    let report = verify(&audit, t).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.checkpoint_seq, Some(6));

    // Remove the last two entries and rewind the head to match: the links
    // that remain are consistent, only the checkpoint knows better.
    tamper(
        &schema.owner,
        &format!(
            "DELETE FROM audit_log WHERE id IN ('{}', '{}'); \
             UPDATE audit_chain SET seq = 4, hash = (SELECT hash FROM audit_log WHERE id = '{}')",
            ids[4], ids[5], ids[3]
        ),
    )
    .await;
    let report = verify(&audit, t).await;
    let broken = report.broken.unwrap();
    assert_eq!(
        broken.fault,
        ChainFault::Truncated {
            checkpoint_seq: 6,
            last_seq: 4
        }
    );
    assert_eq!(report.verified, 4);

    // A forged checkpoint over the shorter chain does not verify.
    sqlx::query("INSERT INTO audit_checkpoint (tenant_id, seq, hash, mac, signed_at) SELECT tenant_id, 7, hash, sha256('guess'::bytea), now() FROM audit_chain")
        .execute(schema.owner.pool())
        .await
        .unwrap();
    let broken = verify(&audit, t).await.broken.unwrap();
    assert_eq!(broken.fault, ChainFault::CheckpointSignature { seq: 7 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_with_batched_writers_and_units_of_work_build_one_line() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let t = tenant();
    let (instances, each) = (3usize, 60usize);
    let mut tasks = Vec::new();
    for instance in 0..instances {
        // Each "instance" has its own pool, batched writer and unit of work.
        let db = PgDatabase::from_pool(schema.app_pool(4), None);
        let store: Arc<dyn AuditStore> = Arc::new(PgAuditStore::new(db.clone()));
        let writer = BatchedAuditWriter::new(
            store.clone(),
            AuditWriterSettings {
                batch_size: 7,
                flush_interval: std::time::Duration::from_millis(5),
                ..AuditWriterSettings::default()
            },
        );
        writer.start().await.unwrap();
        let uow = PgUnitOfWork::new(db);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..each {
                let entry: AuditEntry = audit_entry(t, &format!("instance.{instance}"), now());
                ids.push(entry.id);
                if i % 3 == 0 {
                    committed(&uow, async |tx| store.append(tx, &entry).await)
                        .await
                        .unwrap();
                } else {
                    writer.append_batch(std::slice::from_ref(&entry)).await.unwrap();
                }
            }
            writer.stop().await.unwrap();
            ids
        }));
    }
    let mut written = Vec::new();
    for task in tasks {
        written.extend(task.await.unwrap());
    }
    let audit = PgAuditStore::new(schema.db.clone());
    let mut chained = assert_linear(&whole_chain(&audit, t, 50).await);
    assert_eq!(chained.len(), instances * each);
    chained.sort();
    written.sort();
    assert_eq!(chained, written);
    let report = verify(&audit, t).await;
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.verified, (instances * each) as u64);
}
