//! What the Redis queue tests share: a Redis database of their own (asynq's
//! global keys such as `asynq:queues` and `asynq:servers` cannot be
//! prefixed, so each test claims a whole database index, never 0, and
//! flushes only that one), fast settings, a raw client, and a minimal
//! protobuf reader written from asynq's `.proto` (independent of the
//! crate's prost structs, so the golden tests check the field numbers).

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use deadpool_redis::redis::{self, AsyncCommands, aio::MultiplexedConnection};
use platform_adapter_redis_queue::{QueueTimings, RedisQueue, RedisQueueSettings};
use platform_ports::jobs::RetryDelay;
use platform_ports::model::SecretString;

/// The key marking a database as claimed by a running test.
const CLAIM: &str = "__platform_test_claim__";

/// Whether this run is CI, where a missing service fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The server the tests use, without a database index.
pub fn base_url() -> String {
    let url = std::env::var("PLATFORM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", &url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}")
}

async fn connect(url: &str) -> Option<MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    let conn = tokio::time::timeout(Duration::from_secs(2), client.get_multiplexed_async_connection());
    conn.await.ok()?.ok()
}

/// A Redis database claimed by one test, flushed when dropped.
pub struct TestDb {
    pub url: String,
    pub db: u32,
    pub conn: MultiplexedConnection,
    token: String,
}

impl TestDb {
    /// Claims a free database (index 1 and up), or `None` after a loud skip
    /// (a failure in CI) when Redis is not reachable.
    pub async fn claim(test: &str) -> Option<Self> {
        let base = base_url();
        let Some(mut probe) = connect(&base).await else {
            assert!(!in_ci(), "CI=true and Redis is not reachable at {base}");
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: {test}: Redis not reachable at {base} (start it: redis-server --port 6379) ***\n"
            );
            return None;
        };
        let databases: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("databases")
            .query_async(&mut probe)
            .await
            .unwrap_or_default();
        let count: u32 = databases.get(1).and_then(|n| n.parse().ok()).unwrap_or(16);
        let token = format!("{test}:{}:{}", std::process::id(), uuid::Uuid::new_v4());
        let started = Instant::now();
        loop {
            let offset = fastrand::u32(1..count.max(2));
            for i in 0..count.saturating_sub(1) {
                let db = 1 + (offset + i - 1) % (count - 1);
                let url = format!("{base}/{db}");
                let Some(mut conn) = connect(&url).await else { continue };
                let claimed: Option<String> = redis::cmd("SET")
                    .arg(CLAIM)
                    .arg(&token)
                    .arg("NX")
                    .arg("EX")
                    .arg(900)
                    .query_async(&mut conn)
                    .await
                    .unwrap_or(None);
                if claimed.is_none() {
                    continue;
                }
                let size: u64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap_or(u64::MAX);
                if size == 1 {
                    return Some(Self { url, db, conn, token });
                }
                // Someone else's data: leave it alone.
                let _: () = conn.del(CLAIM).await.unwrap_or(());
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "no free Redis database for {test} after 120 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A fresh connection to this database.
    pub async fn raw(&self) -> MultiplexedConnection {
        connect(&self.url).await.expect("claimed database reachable")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        assert_ne!(self.db, 0, "never flush database 0");
        // Synchronous: Drop cannot await, and it runs after a panic too.
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            return;
        };
        let owner: Option<String> = redis::cmd("GET").arg(CLAIM).query(&mut conn).unwrap_or(None);
        if owner.as_deref() == Some(self.token.as_str()) {
            let _: Result<(), _> = redis::cmd("FLUSHDB").query(&mut conn);
        }
    }
}

/// Intervals short enough for tests: a 4 s lease, sub-second polling.
pub fn fast_timings() -> QueueTimings {
    QueueTimings {
        lease: Duration::from_secs(4),
        heartbeat_interval: Duration::from_millis(500),
        recover_interval: Duration::from_millis(500),
        recover_grace: Duration::from_secs(1),
        forward_interval: Duration::from_millis(200),
        janitor_interval: Duration::from_millis(300),
        task_check_interval: Duration::from_millis(100),
        scheduler_heartbeat: Duration::from_millis(500),
    }
}

/// The retry delay of test queues.
pub const RETRY_DELAY: Duration = Duration::from_secs(2);

/// Settings for a queue serving `queues` on `url`.
pub fn settings(url: &str, queues: &[(&str, u32)]) -> RedisQueueSettings {
    RedisQueueSettings {
        url: SecretString::new(url),
        concurrency: 4,
        queues: queues.iter().map(|(q, w)| ((*q).to_owned(), *w)).collect(),
        shutdown_timeout: Duration::from_secs(3),
        command_timeout: Duration::from_secs(2),
        retry_delay: RetryDelay::fixed(RETRY_DELAY),
        timings: fast_timings(),
        ..RedisQueueSettings::default()
    }
}

/// A queue over `db` serving `queue`.
pub fn queue(db: &TestDb, queue: &str) -> RedisQueue {
    RedisQueue::connect(settings(&db.url, &[(queue, 1)])).unwrap()
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F: AsyncFnMut() -> bool>(limit: Duration, mut condition: F) {
    let started = Instant::now();
    while !condition().await {
        assert!(started.elapsed() < limit, "condition not met within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One decoded protobuf field: a varint or a length-delimited value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Varint(u64),
    Bytes(Vec<u8>),
}

impl Field {
    pub fn int(&self) -> i64 {
        match self {
            Self::Varint(v) => *v as i64,
            Self::Bytes(_) => panic!("not a varint: {self:?}"),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Bytes(b) => b,
            Self::Varint(_) => panic!("not length-delimited: {self:?}"),
        }
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(self.bytes()).unwrap()
    }

    pub fn message(&self) -> Fields {
        decode(self.bytes())
    }
}

/// Fields by number (repeated numbers keep every value, in order).
pub type Fields = BTreeMap<u32, Vec<Field>>;

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = bytes[*at];
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
    }
    value
}

/// Decodes protobuf wire format (varint and length-delimited fields only,
/// which is all asynq's messages use).
pub fn decode(bytes: &[u8]) -> Fields {
    let mut fields = Fields::new();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at);
        let (number, wire) = (u32::try_from(key >> 3).unwrap(), key & 7);
        let field = match wire {
            0 => Field::Varint(varint(bytes, &mut at)),
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)).unwrap();
                at += len;
                Field::Bytes(bytes[at - len..at].to_vec())
            }
            other => panic!("wire type {other} is not used by asynq's messages"),
        };
        fields.entry(number).or_default().push(field);
    }
    fields
}

/// The single value of field `number`.
pub fn one(fields: &Fields, number: u32) -> &Field {
    let values = fields
        .get(&number)
        .unwrap_or_else(|| panic!("field {number} missing in {fields:?}"));
    assert_eq!(values.len(), 1, "field {number} repeated");
    &values[0]
}

/// Encodes fields as protobuf wire format, in the order given (what Go's
/// client writes for a task, built by hand from asynq's `.proto`).
pub fn encode(fields: &[(u32, Field)]) -> Vec<u8> {
    fn put_varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    let mut out = Vec::new();
    for (number, field) in fields {
        match field {
            Field::Varint(v) => {
                put_varint(&mut out, u64::from(*number) << 3);
                put_varint(&mut out, *v);
            }
            Field::Bytes(b) => {
                put_varint(&mut out, (u64::from(*number) << 3) | 2);
                put_varint(&mut out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
    }
    out
}
