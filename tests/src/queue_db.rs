//! A Redis database of its own for each app's job queue.
//!
//! asynq's keys have a fixed `asynq:` prefix and the platform's queue names
//! come from configuration, so two apps on one Redis database would work each
//! other's tasks (a mail job of one app sent by another's worker). Each app
//! with `scheduler.driver: redis` therefore leases one of the server's
//! databases 1–15 (0 keeps the cache and the leases): a key
//! `platform-test:queue-db:<n>` set with NX in database 0, expiring after
//! fifteen minutes so a killed test run frees it; the database is flushed
//! when leased, and the lease deleted when the app is dropped.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Databases a Debian `redis-server` has by default (`databases 16`).
const DATABASES: u32 = 16;

/// A leased database: its number, and where to give it back.
pub(crate) struct QueueDb {
    addr: String,
    db: u32,
    holder: String,
}

impl QueueDb {
    /// Leases a free database on the server of `url`, waiting up to a minute.
    pub(crate) async fn lease(url: &str) -> anyhow::Result<Self> {
        let addr = host_port(url)?;
        let holder = uuid::Uuid::now_v7().simple().to_string();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            for db in 1..DATABASES {
                let key = format!("platform-test:queue-db:{db}");
                let taken = command(&addr, 0, &["SET", &key, &holder, "NX", "PX", "900000"]).await?;
                if taken.starts_with("+OK") {
                    command(&addr, db, &["FLUSHDB"]).await?;
                    return Ok(Self { addr, db, holder });
                }
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no free Redis database for a test job queue on {addr} (15 in use)"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `url` pointing at the leased database.
    pub(crate) fn url(&self, url: &str) -> String {
        let base = url.trim_end_matches('/');
        let base = match base.rsplit_once('/') {
            // `redis://host:port/N`: replace the database.
            Some((head, tail)) if !head.ends_with('/') && tail.chars().all(|c| c.is_ascii_digit()) => head,
            _ => base,
        };
        format!("{base}/{}", self.db)
    }

    /// Gives the database back (the next lease flushes it).
    pub(crate) async fn release(&self) {
        let key = format!("platform-test:queue-db:{}", self.db);
        // Only our own lease: a lease that expired may be someone else's now.
        let held = command(&self.addr, 0, &["GET", &key]).await.unwrap_or_default();
        if held.contains(&self.holder) {
            let _ = command(&self.addr, 0, &["DEL", &key]).await;
        }
    }
}

/// `host:port` of a `redis://[user:pass@]host[:port][/db]` URL.
fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("redis://")
        .ok_or_else(|| anyhow::anyhow!("test job queue: only redis:// URLs are supported, got a different scheme"))?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Ok(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:6379")
    })
}

/// Runs one command on database `db` and returns the first line of its reply.
async fn command(addr: &str, db: u32, args: &[&str]) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut out = Vec::new();
    let mut push = |parts: &[&str]| {
        out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
        for p in parts {
            out.extend_from_slice(format!("${}\r\n{p}\r\n", p.len()).as_bytes());
        }
    };
    let db = db.to_string();
    push(&["SELECT", &db]);
    push(args);
    stream.write_all(&out).await?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    anyhow::ensure!(line.starts_with("+OK"), "Redis SELECT {db} at {addr}: {line}");
    line.clear();
    reader.read_line(&mut line).await?;
    if line.starts_with('$') && !line.starts_with("$-1") {
        let mut value = String::new();
        reader.read_line(&mut value).await?;
        line.push_str(&value);
    }
    anyhow::ensure!(!line.starts_with('-'), "Redis at {addr}: {}", line.trim_end());
    Ok(line)
}
