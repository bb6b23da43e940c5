//! What the audit hash chain costs on append: `PgAuditStore::append_batch`
//! (lock the tenant's chain head, hash, insert and move the head, in one
//! transaction) against the unchained statement the batched writer used
//! before the chain (one `INSERT … SELECT FROM UNNEST`, autocommit), in the
//! same run, interleaved batch by batch so both write into indexes of the
//! same size. The batched writer only calls `append_batch`, so this is its
//! cost; core's writer itself cannot be named from an adapter crate
//! (`.ci/check-deps.sh`), the platform-tests bench of the same name runs it.
//! Also one entry per unit of work, chained against a plain INSERT.
//!
//! `cargo bench -p platform-adapter-postgres --bench audit_append` measures
//! 50 000 entries per path (`PLATFORM_BENCH_AUDIT_ENTRIES` to change).
//! Without `--bench` (as `cargo test --all-targets` runs it) it checks both
//! paths on a few rows. Uses a throw-away schema of the test database
//! (`PLATFORM_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use platform_adapter_postgres::{PgAuditStore, PgUnitOfWork};
use platform_ports::audit::{AuditEntry, AuditStore};
use platform_ports::model::{AuditId, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

/// What the batched writer hands the store at once.
const BATCH: usize = 500;
const DEFAULT_ENTRIES: usize = 50_000;
const SMOKE_ENTRIES: usize = 1_000;

type BoxResult<T> = Result<T, Box<dyn Error>>;

/// The pre-chain batch statement, verbatim.
const UNCHAINED_BATCH: &str = "INSERT INTO audit_log (id, tenant_id, actor_id, action, target_id, metadata, \
     occurred_at, request_id, ip, user_agent) SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], \
     $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])";

/// The pre-chain single-row statement, verbatim.
const UNCHAINED_ONE: &str = "INSERT INTO audit_log (id, tenant_id, actor_id, action, target_id, metadata, \
     occurred_at, request_id, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING";

fn main() -> BoxResult<()> {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let entries = if measuring {
        std::env::var("PLATFORM_BENCH_AUDIT_ENTRIES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_ENTRIES)
    } else {
        SMOKE_ENTRIES
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(entries.max(BATCH)))
}

/// Realistic rows (as the platform-tests bench writes them).
fn entries(n: usize, tenant: TenantId) -> Vec<AuditEntry> {
    let start = Utc::now();
    (0..n)
        .map(|i| AuditEntry {
            id: AuditId::new(),
            tenant_id: tenant,
            actor_id: (i % 3 != 0).then(UserId::new),
            action: if i % 2 == 0 { "login.failed" } else { "user.read" }.to_owned(),
            target_id: (i % 2 == 0).then(|| format!("user-{i}")),
            metadata: BTreeMap::from([
                ("attempt".to_owned(), serde_json::json!(i % 5)),
                ("reason".to_owned(), serde_json::json!("bad password")),
            ]),
            occurred_at: start + TimeDelta::microseconds(i64::try_from(i).unwrap_or(0)),
            request_id: Some(Uuid::new_v4().to_string()),
            ip: Some("203.0.113.7".to_owned()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
        })
        .collect()
}

async fn unchained_batch(pool: &PgPool, entries: &[AuditEntry]) -> BoxResult<()> {
    let column = |f: fn(&AuditEntry) -> Option<&str>| -> Vec<Option<&str>> { entries.iter().map(f).collect() };
    sqlx::query(UNCHAINED_BATCH)
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
        .execute(pool)
        .await?;
    Ok(())
}

async fn unchained_one(pool: &PgPool, e: &AuditEntry) -> BoxResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(UNCHAINED_ONE)
        .bind(e.id.0)
        .bind(e.tenant_id.0)
        .bind(e.actor_id.map(|a| a.0))
        .bind(e.action.as_str())
        .bind(e.target_id.as_deref())
        .bind(Json(&e.metadata))
        .bind(e.occurred_at)
        .bind(e.request_id.as_deref())
        .bind(e.ip.as_deref())
        .bind(e.user_agent.as_deref())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(f64::EPSILON)
}

async fn run(n: usize) -> BoxResult<()> {
    let Some(schema) = support::TestSchema::create().await else {
        return Ok(());
    };
    // The baseline writes as the owner: it is the bare statement, with no
    // row-level-security scope (the adapter's batch sets its scope in the
    // BEGIN round trip it already paid).
    let pool = schema.owner.pool().clone();
    let audit = PgAuditStore::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    // Two tenants so the chained path works on an existing head, as in
    // production, and each path keeps its own tenant's index pages warm.
    let (chained_tenant, plain_tenant) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));

    // Warm-up: prepared statements, caches, the first index pages.
    audit.append_batch(&entries(BATCH, chained_tenant)).await?;
    unchained_batch(&pool, &entries(BATCH, plain_tenant)).await?;

    let chained = entries(n, chained_tenant);
    let plain = entries(n, plain_tenant);
    let (mut chained_time, mut plain_time) = (Duration::ZERO, Duration::ZERO);
    // Interleaved, alternating which goes first, so neither always meets a
    // freshly flushed WAL or a cold cache.
    for (i, (c, p)) in chained.chunks(BATCH).zip(plain.chunks(BATCH)).enumerate() {
        if i % 2 == 0 {
            let started = Instant::now();
            audit.append_batch(c).await?;
            chained_time += started.elapsed();
            let started = Instant::now();
            unchained_batch(&pool, p).await?;
            plain_time += started.elapsed();
        } else {
            let started = Instant::now();
            unchained_batch(&pool, p).await?;
            plain_time += started.elapsed();
            let started = Instant::now();
            audit.append_batch(c).await?;
            chained_time += started.elapsed();
        }
    }

    // One entry per unit of work (what a use case pays), fewer of them.
    let singles = (n / 25).max(40);
    let chained_one = entries(singles, chained_tenant);
    let plain_one = entries(singles, plain_tenant);
    let (mut chained_one_time, mut plain_one_time) = (Duration::ZERO, Duration::ZERO);
    for (c, p) in chained_one.iter().zip(&plain_one) {
        let started = Instant::now();
        let mut tx = uow.begin().await?;
        audit.append(&mut tx, c).await?;
        tx.commit().await?;
        chained_one_time += started.elapsed();
        let started = Instant::now();
        unchained_one(&pool, p).await?;
        plain_one_time += started.elapsed();
    }

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE seq IS NOT NULL")
        .fetch_one(&pool)
        .await?;
    let expected = i64::try_from(n + BATCH + singles)?;
    if stored != expected {
        return Err(format!("chained {stored} rows, expected {expected}").into());
    }

    let (chained_rate, plain_rate) = (rate(n, chained_time), rate(n, plain_time));
    let (chained_one_rate, plain_one_rate) = (rate(singles, chained_one_time), rate(singles, plain_one_time));
    println!(
        "audit append into PostgreSQL: {n} entries per batch path (batches of {BATCH}), {singles} per single path"
    );
    let line = |label: &str, took: Duration, rate: f64| {
        println!("  {label:<44} {:>8.3} s {:>10.0} entries/s", took.as_secs_f64(), rate);
    };
    line("append_batch, chained (lock head, hash)", chained_time, chained_rate);
    line("unchained batch (INSERT ... UNNEST)", plain_time, plain_rate);
    line("one per unit of work, chained", chained_one_time, chained_one_rate);
    line("one per transaction, unchained", plain_one_time, plain_one_rate);
    println!(
        "  chain cost, batched: {:.1} % (chained / unchained throughput {:.3}; target: cost <= 20 %)",
        (1.0 - chained_rate / plain_rate) * 100.0,
        chained_rate / plain_rate
    );
    println!(
        "  chain cost, one per unit of work: {:.1} %",
        (1.0 - chained_one_rate / plain_one_rate) * 100.0
    );
    Ok(())
}
