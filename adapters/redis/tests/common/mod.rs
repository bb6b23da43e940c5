//! What the Redis tests share: finding Redis (or skipping loudly), unique
//! key prefixes, a throwaway `redis-server`, and log capture.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deadpool_redis::redis::{self, AsyncCommands};
use platform_adapter_memory::MemoryCache;
use platform_adapter_redis::{RedisCache, RedisSettings};
use platform_ports::model::SecretString;
use tokio::process::{Child, Command};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Whether this run is CI, where a missing service fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Fails in CI, prints a loud skip notice otherwise.
pub fn skip_or_fail(reason: &str) {
    assert!(!in_ci(), "CI=true and {reason}");
    // Straight to the stream: libtest swallows `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n******** SKIPPED: {reason} ********\n");
}

/// The Redis the contract runs against.
pub fn redis_url() -> String {
    std::env::var("PLATFORM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A direct client (not the adapter) for looking behind the cache.
pub async fn raw(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    let connect = client.get_multiplexed_async_connection();
    let mut conn = tokio::time::timeout(Duration::from_secs(2), connect).await.ok()?.ok()?;
    let pong: Option<String> = redis::cmd("PING").query_async(&mut conn).await.ok();
    pong.map(|_| conn)
}

/// The shared test Redis, or `None` after a loud skip (a failure in CI).
pub async fn shared_redis() -> Option<(String, redis::aio::MultiplexedConnection)> {
    let url = redis_url();
    match raw(&url).await {
        Some(conn) => Some((url, conn)),
        None => {
            skip_or_fail(&format!("Redis not reachable at {url}"));
            None
        }
    }
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "test:{name}:{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every key under `prefix`, deleted; returns how many there were.
pub async fn delete_prefix(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> usize {
    let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap();
    if !keys.is_empty() {
        let _: () = conn.del(&keys).await.unwrap();
    }
    keys.len()
}

/// Settings for a test cache at `url`, with short timeouts.
pub fn settings(url: &str, retry_interval: Duration) -> RedisSettings {
    RedisSettings {
        url: SecretString::new(url),
        pool_size: 4,
        command_timeout: Duration::from_millis(300),
        retry_interval,
    }
}

/// A cache at `url` with a fresh fallback.
pub fn cache(url: &str, retry_interval: Duration) -> RedisCache {
    RedisCache::connect(settings(url, retry_interval), MemoryCache::new()).unwrap()
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The `redis-server` binary on `PATH`.
pub fn redis_server_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A `redis-server` this test owns: no persistence, killed when dropped.
pub struct Throwaway {
    binary: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Throwaway {
    /// Starts one on a free port, or `None` after a loud skip (a failure in CI).
    pub async fn start() -> Option<Self> {
        let Some(binary) = redis_server_binary() else {
            skip_or_fail("no redis-server binary on PATH for the outage test");
            return None;
        };
        let mut server = Self {
            binary,
            port: free_port(),
            child: None,
        };
        server.restart().await;
        Some(server)
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        while raw(&self.url()).await.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server on port {} did not start",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server and waits until it is gone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Sends a signal (`STOP` freezes the server: connections stay open and
    /// nothing answers; `CONT` resumes it with its data).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("server running");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

/// Log events captured by [`capture_logs`].
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<(Level, String)>>>);

impl Logs {
    /// How many events at `level` have a message containing `text`.
    pub fn count(&self, level: Level, text: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(l, m)| *l == level && m.contains(text))
            .count()
    }

    /// Every event, for assertion messages.
    pub fn dump(&self) -> String {
        self.0
            .lock()
            .unwrap()
            .iter()
            .fold(String::new(), |mut out, (level, message)| {
                let _ = writeln!(out, "{level} {message}");
                out
            })
    }
}

struct Capture(Logs);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().starts_with("platform_adapter_redis") {
            return;
        }
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.0.lock().unwrap().push((*event.metadata().level(), message));
    }
}

/// Captures this thread's log events from the adapter until the guard drops
/// (use a current-thread runtime, so spawned tasks log on this thread too).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::registry().with(Capture(logs.clone()));
    (logs, tracing::subscriber::set_default(subscriber))
}

/// Polls `condition` every 20 ms until it holds or `limit` passes; returns
/// how long it took.
pub async fn eventually(limit: Duration, mut condition: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if condition().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "condition not met within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
