//! Audit append rate into PostgreSQL: `PgAuditStore::append_batch` (batches
//! of 500, one `INSERT … SELECT FROM UNNEST` each) against a raw
//! `COPY audit_log FROM STDIN` of the same rows in the same batches, and
//! against one COPY of everything.
//!
//! It lives here rather than in the PostgreSQL adapter because it composes
//! the adapter with core's batched writer, and an adapter crate never
//! depends on core (`.ci/check-deps.sh`).
//!
//! `cargo bench -p platform-tests --bench audit_append` measures
//! 50 000 entries per method (`PLATFORM_BENCH_AUDIT_ENTRIES` to change).
//! Without `--bench` (as `cargo test --all-targets` runs it) it only checks,
//! on a few rows, that both paths work. Uses a throw-away schema of the test
//! database (`PLATFORM_TEST_DATABASE_URL`).

#[path = "../../adapters/postgres/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use platform_adapter_postgres::PgAuditStore;
use platform_core::audit::{AuditWriterSettings, BatchedAuditWriter};
use platform_ports::audit::AuditEntry;
use platform_ports::audit::AuditStore;
use platform_ports::lifecycle::BackgroundService;
use platform_ports::model::{AuditId, TenantId, UserId};
use sqlx::PgConnection;
use uuid::Uuid;

/// What the batched audit writer hands the store at once.
const BATCH: usize = 500;
const DEFAULT_ENTRIES: usize = 50_000;
const SMOKE_ENTRIES: usize = 1_000;

type BoxResult<T> = Result<T, Box<dyn Error>>;

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

/// Realistic rows: a third anonymous, half with a target, escapes in the agent.
fn entries(n: usize, tenant: TenantId, start: DateTime<Utc>) -> Vec<AuditEntry> {
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
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)\tcurl\\8".to_owned()),
        })
        .collect()
}

/// One field in COPY's text format.
fn field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(text) => {
            for c in text.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// The rows as COPY's text format expects them, in `audit_log`'s column order.
fn copy_text(entries: &[AuditEntry]) -> BoxResult<String> {
    let mut out = String::with_capacity(entries.len() * 256);
    for e in entries {
        let metadata = serde_json::to_string(&e.metadata)?;
        let occurred = e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let actor = e.actor_id.map(|a| a.to_string());
        write!(out, "{}\t{}\t", e.id, e.tenant_id)?;
        field(&mut out, actor.as_deref());
        out.push('\t');
        field(&mut out, Some(&e.action));
        out.push('\t');
        field(&mut out, e.target_id.as_deref());
        out.push('\t');
        field(&mut out, Some(&metadata));
        out.push('\t');
        field(&mut out, Some(&occurred));
        out.push('\t');
        field(&mut out, e.request_id.as_deref());
        out.push('\t');
        field(&mut out, e.ip.as_deref());
        out.push('\t');
        field(&mut out, e.user_agent.as_deref());
        out.push('\n');
    }
    Ok(out)
}

async fn copy(conn: &mut PgConnection, entries: &[AuditEntry]) -> BoxResult<()> {
    // Formatting is part of what a COPY-based writer would pay, so it is timed.
    let text = copy_text(entries)?;
    let mut copy = conn
        .copy_in_raw(
            "COPY audit_log (id, tenant_id, actor_id, action, target_id, metadata, \
             occurred_at, request_id, ip, user_agent) FROM STDIN",
        )
        .await?;
    copy.send(text.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn rate(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(f64::EPSILON)
}

async fn run(n: usize) -> BoxResult<()> {
    let Some(schema) = support::TestSchema::create().await else {
        return Ok(());
    };
    let audit = PgAuditStore::new(schema.db.clone());
    let mut conn = schema.db.pool().acquire().await?;
    let tenant = TenantId(Uuid::now_v7());
    let start = Utc::now();

    // Warm-up: prepared statements, caches, the first index pages.
    audit.append_batch(&entries(BATCH, tenant, start)).await?;
    copy(&mut conn, &entries(BATCH, tenant, start)).await?;

    let by_insert = entries(n, tenant, start);
    let by_copy = entries(n, tenant, start);
    let by_one_copy = entries(n, tenant, start);
    let (mut insert_time, mut copy_time) = (Duration::ZERO, Duration::ZERO);
    // Interleaved, so both methods write into an index of the same size.
    for (inserted, copied) in by_insert.chunks(BATCH).zip(by_copy.chunks(BATCH)) {
        let started = Instant::now();
        audit.append_batch(inserted).await?;
        insert_time += started.elapsed();
        let started = Instant::now();
        copy(&mut conn, copied).await?;
        copy_time += started.elapsed();
    }
    let started = Instant::now();
    copy(&mut conn, &by_one_copy).await?;
    let one_copy_time = started.elapsed();

    // The batched writer, as `Auditor::record` uses it: one entry per call,
    // queued, written in batches by its background task, flushed on stop.
    let by_writer = entries(n, tenant, start);
    let writer = BatchedAuditWriter::new(
        std::sync::Arc::new(PgAuditStore::new(schema.db.clone())),
        AuditWriterSettings {
            batch_size: BATCH,
            capacity: 4 * BATCH,
            ..AuditWriterSettings::default()
        },
    );
    let started = Instant::now();
    writer.start().await.map_err(|e| e.to_string())?;
    for entry in &by_writer {
        writer.append_batch(std::slice::from_ref(entry)).await?;
    }
    writer.stop().await.map_err(|e| e.to_string())?;
    let writer_time = started.elapsed();

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&mut *conn)
        .await?;
    let expected = i64::try_from(4 * n + 2 * BATCH)?;
    if stored != expected {
        return Err(format!("stored {stored} rows, expected {expected}").into());
    }

    let (insert_rate, copy_rate, one_copy_rate) = (rate(n, insert_time), rate(n, copy_time), rate(n, one_copy_time));
    let writer_rate = rate(n, writer_time);
    println!("audit append into PostgreSQL: {n} entries per method, batches of {BATCH}");
    let line = |label: &str, took: Duration, rate: f64| {
        println!("  {label:<34} {:>8.3} s {:>10.0} entries/s", took.as_secs_f64(), rate);
    };
    line("batched writer (record one by one)", writer_time, writer_rate);
    line("append_batch (INSERT ... UNNEST)", insert_time, insert_rate);
    line(&format!("COPY FROM STDIN, {BATCH} rows per COPY"), copy_time, copy_rate);
    line("COPY FROM STDIN, one COPY of all", one_copy_time, one_copy_rate);
    println!(
        "  ratio batched writer / COPY: {:.2} (same batches), {:.2} (one COPY)",
        writer_rate / copy_rate,
        writer_rate / one_copy_rate
    );
    println!(
        "  ratio append_batch / COPY: {:.2} (same batches), {:.2} (one COPY)",
        insert_rate / copy_rate,
        insert_rate / one_copy_rate
    );
    // Each batch is its own transaction, as in the batched writer: the
    // commit (WAL flush) weighs on both batched methods alike.
    Ok(())
}
