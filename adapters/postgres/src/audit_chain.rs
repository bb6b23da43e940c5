//! The audit chain in PostgreSQL: links assigned under a per-tenant row lock
//! on `audit_chain`, read back in sequence order, and signed checkpoints.
//!
//! Linearity: an appender first upserts its tenants' head rows with
//! `ON CONFLICT DO UPDATE` (which locks each row, in tenant order, and
//! returns the latest committed head), computes the links in Rust, then
//! inserts the entries and moves the heads in one statement. A second
//! appender of the same tenant waits on the row lock until the first
//! commits and then reads its head, so sequence numbers and hashes follow
//! commit order whoever writes. Locking tenants in sorted order keeps two
//! multi-tenant batches from deadlocking.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use platform_ports::StoreError;
use platform_ports::audit::{AuditEntry, ChainHash, ChainHead, ChainedEntry, Checkpoint, chain_hash};
use platform_ports::model::TenantId;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::audit::AuditRow;
use crate::error::corrupt;

/// Creates missing heads and locks every head of `$1` (sorted), returning
/// each as last committed.
const LOCK_HEADS: &str = "INSERT INTO audit_chain (tenant_id, seq, hash) \
     SELECT t, 0, $2 FROM UNNEST($1::uuid[]) AS t ORDER BY t \
     ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_chain.seq \
     RETURNING tenant_id, seq, hash";

/// Inserts the linked entries and, only when every one was new, moves the
/// heads; answers how many were inserted. A duplicate id is skipped rather
/// than raised so that a unit of work stays usable after the conflict.
const APPEND_LINKED: &str = concat!(
    "WITH appended AS (INSERT INTO audit_log (",
    audit_columns!(),
    ", seq, prev_hash, hash) SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], ",
    "$6::jsonb[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::int8[], $12::bytea[], $13::bytea[]) ",
    "ON CONFLICT DO NOTHING RETURNING 1), ",
    "moved AS (UPDATE audit_chain AS c SET seq = h.seq, hash = h.hash, updated_at = now() ",
    "FROM UNNEST($14::uuid[], $15::int8[], $16::bytea[]) AS h(tenant_id, seq, hash) ",
    "WHERE c.tenant_id = h.tenant_id AND (SELECT count(*) FROM appended) = $17 RETURNING 1) ",
    "SELECT (SELECT count(*) FROM appended), (SELECT count(*) FROM moved)"
);

fn bad_link(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("audit chain: {what}").into())
}

fn seq_of(value: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(value).map_err(|_| bad_link("negative sequence number"))
}

fn db_seq(value: u64) -> i64 {
    // A chain cannot reach 2^63 entries; saturating keeps this total.
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Appends `entries` as the next links of their tenants' chains, in slice
/// order, on `conn` (inside the caller's transaction); returns how many were
/// inserted (fewer than given: an id was already stored, nothing moved).
pub(crate) async fn append_linked(conn: &mut PgConnection, entries: &[AuditEntry]) -> Result<usize, sqlx::Error> {
    let mut tenants: Vec<Uuid> = entries.iter().map(|e| e.tenant_id.0).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let rows: Vec<(Uuid, i64, Vec<u8>)> = sqlx::query_as(LOCK_HEADS)
        .bind(&tenants)
        .bind(ChainHash::GENESIS.0.to_vec())
        .fetch_all(&mut *conn)
        .await?;
    let mut heads: HashMap<Uuid, (u64, ChainHash)> = HashMap::with_capacity(rows.len());
    for (tenant, seq, hash) in rows {
        let hash = ChainHash::from_slice(&hash).ok_or_else(|| bad_link("head hash is not 32 bytes"))?;
        heads.insert(tenant, (seq_of(seq)?, hash));
    }
    let (mut seqs, mut prevs, mut hashes) = (
        Vec::with_capacity(entries.len()),
        Vec::with_capacity(entries.len()),
        Vec::with_capacity(entries.len()),
    );
    for entry in entries {
        let head = heads
            .get_mut(&entry.tenant_id.0)
            .ok_or_else(|| bad_link("a head was not locked"))?;
        let seq = head.0 + 1;
        let hash = chain_hash(entry, seq, &head.1);
        seqs.push(db_seq(seq));
        prevs.push(head.1.0.to_vec());
        hashes.push(hash.0.to_vec());
        *head = (seq, hash);
    }
    let (head_tenants, head_seqs, head_hashes): (Vec<Uuid>, Vec<i64>, Vec<Vec<u8>>) = heads
        .iter()
        .map(|(tenant, (seq, hash))| (*tenant, db_seq(*seq), hash.0.to_vec()))
        .collect();
    let column = |f: fn(&AuditEntry) -> Option<&str>| -> Vec<Option<&str>> { entries.iter().map(f).collect() };
    let (inserted, _moved): (i64, i64) = sqlx::query_as(APPEND_LINKED)
        .bind(entries.iter().map(|e| e.id.0).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.tenant_id.0).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.actor_id.map(|a| a.0)).collect::<Vec<_>>())
        .bind(column(|e| Some(e.action.as_str())))
        .bind(column(|e| e.target_id.as_deref()))
        .bind(entries.iter().map(|e| Json(&e.metadata)).collect::<Vec<_>>())
        .bind(entries.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
        .bind(column(|e| e.request_id.as_deref()))
        .bind(column(|e| e.ip.as_deref()))
        .bind(column(|e| e.user_agent.as_deref()))
        .bind(seqs)
        .bind(prevs)
        .bind(hashes)
        .bind(head_tenants)
        .bind(head_seqs)
        .bind(head_hashes)
        .bind(i64::try_from(entries.len()).unwrap_or(i64::MAX))
        .fetch_one(&mut *conn)
        .await?;
    Ok(usize::try_from(inserted).unwrap_or(0))
}

/// An `audit_log` row with its link.
#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    #[sqlx(flatten)]
    row: AuditRow,
    seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl LinkRow {
    pub(crate) fn into_link(self) -> Result<ChainedEntry, StoreError> {
        let bad = |what: &str| corrupt("audit link", what);
        Ok(ChainedEntry {
            seq: u64::try_from(self.seq).map_err(|_| bad("negative sequence number"))?,
            prev_hash: ChainHash::from_slice(&self.prev_hash).ok_or_else(|| bad("prev_hash is not 32 bytes"))?,
            hash: ChainHash::from_slice(&self.hash).ok_or_else(|| bad("hash is not 32 bytes"))?,
            entry: self.row.into(),
        })
    }
}

/// The tenant's links after `$2`, in sequence order.
pub(crate) const CHAIN: &str = concat!(
    "SELECT ",
    audit_columns!(),
    ", seq, prev_hash, hash FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
);

/// A head row with no entry yet (a unit of work's append that conflicted
/// still commits the row it created) counts as no head.
pub(crate) const HEAD: &str = "SELECT seq, hash FROM audit_chain WHERE tenant_id = $1 AND seq > 0";

pub(crate) const TENANTS: &str = "SELECT tenant_id FROM audit_chain WHERE seq > 0 ORDER BY tenant_id";

pub(crate) const SAVE_CHECKPOINT: &str = "INSERT INTO audit_checkpoint (tenant_id, seq, hash, mac, signed_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";

pub(crate) const LATEST_CHECKPOINT: &str = "SELECT seq, hash, mac, signed_at FROM audit_checkpoint \
     WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1";

pub(crate) fn head(tenant: TenantId, row: Option<(i64, Vec<u8>)>) -> Result<Option<ChainHead>, StoreError> {
    row.map(|(seq, hash)| {
        Ok(ChainHead {
            tenant_id: tenant,
            seq: u64::try_from(seq).map_err(|_| corrupt("audit chain head", "negative sequence number"))?,
            hash: ChainHash::from_slice(&hash).ok_or_else(|| corrupt("audit chain head", "hash is not 32 bytes"))?,
        })
    })
    .transpose()
}

pub(crate) type CheckpointRow = (i64, Vec<u8>, Vec<u8>, DateTime<Utc>);

pub(crate) fn checkpoint(tenant: TenantId, row: Option<CheckpointRow>) -> Result<Option<Checkpoint>, StoreError> {
    row.map(|(seq, hash, mac, signed_at)| {
        Ok(Checkpoint {
            head: head(tenant, Some((seq, hash)))?.ok_or_else(|| corrupt("audit checkpoint", "sequence 0"))?,
            mac,
            signed_at,
        })
    })
    .transpose()
}

pub(crate) fn checkpoint_params(cp: &Checkpoint) -> (Uuid, i64, Vec<u8>, Vec<u8>, DateTime<Utc>) {
    (
        cp.head.tenant_id.0,
        db_seq(cp.head.seq),
        cp.head.hash.0.to_vec(),
        cp.mac.clone(),
        cp.signed_at,
    )
}
