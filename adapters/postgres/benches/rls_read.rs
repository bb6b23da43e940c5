//! What row-level security costs a read and a unit of work. Before it, a
//! repository read outside a unit of work was one statement on the pool; now
//! it is a transaction whose `BEGIN` carries `set_config('app.tenant_id')`
//! (one round trip), then the statement, and its `ROLLBACK` rides on the
//! ping that returns the connection to the pool. A unit of work pays one
//! `set_config` before its first statement.
//!
//! Measured in the same run, interleaved: `PgUserRepository::find_by_id`
//! (as `platform_app`, RLS on) against the pre-RLS statement alone on a pool
//! of the owner; a unit of work updating one user through the adapter
//! against `BEGIN`, the same `UPDATE`, `COMMIT` as the owner.
//!
//! `cargo bench -p platform-adapter-postgres --bench rls_read` runs 5 000 of
//! each (`PLATFORM_BENCH_RLS_OPS` to change). Without `--bench` (as `cargo
//! test --all-targets` runs it) it checks both paths on a few. Uses a
//! throw-away schema of the test database (`PLATFORM_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::error::Error;
use std::time::{Duration, Instant};

use chrono::Utc;
use platform_adapter_postgres::{PgUnitOfWork, PgUserRepository};
use platform_ports::identity::{PasswordHash, User, UserRepository};
use platform_ports::model::{Email, TenantId, UserId};
use platform_ports::persistence::UnitOfWork;
use sqlx::PgPool;
use uuid::Uuid;

const DEFAULT_OPS: usize = 5_000;
const SMOKE_OPS: usize = 100;
const USERS: usize = 200;

type BoxResult<T> = Result<T, Box<dyn Error>>;

/// The adapter's `find_by_id` statement, verbatim.
const FIND: &str = "SELECT id, tenant_id, email, display_name, password_hash, email_verified, created_at, \
     updated_at FROM users WHERE tenant_id = $1 AND id = $2";

/// A statement of the shape of the adapter's `update` (the email clash check left out).
const UPDATE: &str = "UPDATE users SET display_name = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2";

type Row = (
    Uuid,
    Uuid,
    String,
    Option<String>,
    String,
    bool,
    chrono::DateTime<Utc>,
    chrono::DateTime<Utc>,
);

fn main() -> BoxResult<()> {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let ops = if measuring {
        std::env::var("PLATFORM_BENCH_RLS_OPS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_OPS)
    } else {
        SMOKE_OPS
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(ops.max(1)))
}

fn user(tenant: TenantId, i: usize) -> BoxResult<User> {
    let now = Utc::now();
    Ok(User {
        id: UserId(Uuid::now_v7()),
        tenant_id: tenant,
        email: Email::parse(&format!("user{i}@example.com"))?,
        display_name: Some(format!("User {i}")),
        password_hash: PasswordHash("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        email_verified: true,
        digest: false,
        created_at: now,
        updated_at: now,
    })
}

async fn plain_read(pool: &PgPool, u: &User) -> BoxResult<()> {
    let row: Option<Row> = sqlx::query_as(FIND)
        .bind(u.tenant_id.0)
        .bind(u.id.0)
        .fetch_optional(pool)
        .await?;
    if row.is_none() {
        return Err("the plain read found nothing".into());
    }
    Ok(())
}

async fn plain_update(pool: &PgPool, u: &User, name: &str) -> BoxResult<()> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(UPDATE)
        .bind(u.tenant_id.0)
        .bind(u.id.0)
        .bind(name)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() != 1 {
        return Err("the plain update changed nothing".into());
    }
    Ok(())
}

fn micros(took: Duration, n: usize) -> f64 {
    took.as_secs_f64() * 1e6 / n as f64
}

async fn run(ops: usize) -> BoxResult<()> {
    let Some(schema) = support::TestSchema::create().await else {
        return Ok(());
    };
    let owner = schema.owner.pool().clone();
    let users = PgUserRepository::new(schema.db.clone());
    let uow = PgUnitOfWork::new(schema.db.clone());
    let tenants = [TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7())];
    let mut stored = Vec::with_capacity(USERS);
    let mut tx = uow.begin().await?;
    for i in 0..USERS {
        let u = user(tenants[i % 2], i)?;
        users.create(&mut tx, &u).await?;
        stored.push(u);
    }
    tx.commit().await?;

    // Warm-up: prepared statements and pooled connections on both sides.
    for u in stored.iter().take(20) {
        users.find_by_id(u.tenant_id, u.id).await?;
        plain_read(&owner, u).await?;
    }

    let (mut rls_read, mut plain_read_time) = (Duration::ZERO, Duration::ZERO);
    for i in 0..ops {
        let u = &stored[i % stored.len()];
        // Alternating which goes first, so neither always meets a warmer cache.
        for first in [i % 2 == 0, i % 2 != 0] {
            let started = Instant::now();
            if first {
                if users.find_by_id(u.tenant_id, u.id).await?.is_none() {
                    return Err("the adapter's read found nothing".into());
                }
                rls_read += started.elapsed();
            } else {
                plain_read(&owner, u).await?;
                plain_read_time += started.elapsed();
            }
        }
    }

    let writes = (ops / 5).max(20);
    let (mut rls_write, mut plain_write) = (Duration::ZERO, Duration::ZERO);
    for i in 0..writes {
        let u = &stored[i % stored.len()];
        let changed = User {
            display_name: Some(format!("renamed {i}")),
            updated_at: Utc::now(),
            ..u.clone()
        };
        let started = Instant::now();
        let mut tx = uow.begin().await?;
        users.update(&mut tx, &changed).await?;
        tx.commit().await?;
        rls_write += started.elapsed();
        let started = Instant::now();
        plain_update(&owner, u, &format!("plain {i}")).await?;
        plain_write += started.elapsed();
    }

    println!("row-level security on PostgreSQL: {ops} reads and {writes} units of work per path");
    let line = |label: &str, took: Duration, n: usize| {
        println!("  {label:<58} {:>8.1} µs per operation", micros(took, n));
    };
    line("find_by_id through the adapter (scoped transaction)", rls_read, ops);
    line("the same SELECT alone on the pool (before RLS)", plain_read_time, ops);
    line("unit of work: one update through the adapter", rls_write, writes);
    line(
        "BEGIN, the same kind of UPDATE, COMMIT (before RLS)",
        plain_write,
        writes,
    );
    println!(
        "  read: +{:.1} µs ({:.0} %); unit of work: +{:.1} µs ({:.0} %)",
        micros(rls_read, ops) - micros(plain_read_time, ops),
        (rls_read.as_secs_f64() / plain_read_time.as_secs_f64().max(f64::EPSILON) - 1.0) * 100.0,
        micros(rls_write, writes) - micros(plain_write, writes),
        (rls_write.as_secs_f64() / plain_write.as_secs_f64().max(f64::EPSILON) - 1.0) * 100.0,
    );
    Ok(())
}
