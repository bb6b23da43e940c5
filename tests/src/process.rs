//! The `platform` binary as separate processes, for the suites that kill,
//! signal and restart instances (`tests/workers.rs`), and a Redis database
//! of their own for those processes' job queue.
//!
//! The binary belongs to `platform-bootstrap`, so Cargo does not hand this
//! crate its path (`CARGO_BIN_EXE_*` is only set for the owning package):
//! [`platform_binary`] builds it once per test process with the same Cargo
//! and profile, which is a no-op when `cargo test --workspace` already did.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::queue_db::QueueDb;

/// Under `CI=true` a missing server fails the test; otherwise a loud skip.
///
/// # Panics
/// Under `CI=true`.
pub fn skip_or_fail(test: &str, reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true and {test}: {reason}");
    eprintln!("\n*** SKIPPED: {test}: {reason} ***\n");
}

/// The Redis the suites use (`PLATFORM_TEST__REDIS__URL`, else the local one).
#[must_use]
pub fn redis_url() -> String {
    std::env::var("PLATFORM_TEST__REDIS__URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The PostgreSQL the suites use (`PLATFORM_TEST__DATABASE__DSN`, else the local `test` database).
#[must_use]
pub fn postgres_dsn() -> String {
    std::env::var("PLATFORM_TEST__DATABASE__DSN")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// The path of a `platform` binary built from this workspace.
///
/// # Panics
/// When Cargo cannot build it.
pub fn platform_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // target/<profile>/deps/<test>-<hash> → target/<profile>
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test binary lives in target/<profile>/deps")
            .to_path_buf();
        let mut cargo = Command::new(env!("CARGO"));
        // Cargo gives the test process its package's variables
        // (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`...). Some build scripts
        // (ring's) track them, so inheriting them would make this build and
        // the next `cargo test` rebuild each other's dependencies every time.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let configures_cargo = ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_INCREMENTAL"].contains(&key.as_ref())
                || [
                    "CARGO_BUILD_",
                    "CARGO_PROFILE_",
                    "CARGO_REGISTRIES_",
                    "CARGO_NET_",
                    "CARGO_HTTP_",
                    "CARGO_TERM_",
                ]
                .iter()
                .any(|prefix| key.starts_with(prefix));
            if (key.starts_with("CARGO_") && !configures_cargo) || key == "OUT_DIR" {
                cargo.env_remove(key.as_ref());
            }
        }
        cargo.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "build",
            "--quiet",
            "-p",
            "platform-bootstrap",
            "--bin",
            "platform",
        ]);
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "cargo build of the platform binary failed: {status}");
        let binary = profile_dir.join(format!("platform{}", std::env::consts::EXE_SUFFIX));
        assert!(binary.exists(), "no platform binary at {}", binary.display());
        binary
    })
}

/// A Redis database of the server at [`redis_url`] leased for one test
/// (see `queue_db`): processes sharing it share one job queue.
pub struct RedisDb {
    db: QueueDb,
    /// `redis://…/<n>`.
    pub url: String,
}

impl RedisDb {
    /// Leases a database, or `None` after [`skip_or_fail`] when Redis is not there.
    pub async fn lease(test: &str) -> Option<Self> {
        let base = redis_url();
        match QueueDb::lease(&base).await {
            Ok(db) => {
                let url = db.url(&base);
                Some(Self { db, url })
            }
            Err(err) => {
                skip_or_fail(test, &format!("Redis is not reachable at {base}: {err}"));
                None
            }
        }
    }

    /// Gives the database back.
    pub async fn release(self) {
        self.db.release().await;
    }
}

/// One `platform` process with JSON logs read on a thread.
pub struct PlatformProcess {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl PlatformProcess {
    /// `platform {args}` on the `test` environment of `config_dir`, with `env` on top.
    ///
    /// # Panics
    /// When it cannot be spawned.
    pub fn spawn(config_dir: &Path, args: &[&str], env: &[(String, String)]) -> Self {
        let mut cmd = Command::new(platform_binary());
        cmd.arg("--config-dir")
            .arg(config_dir)
            .args(args)
            .env("PLATFORM_ENV", "test")
            .env("PLATFORM__LOGGING__FORMAT", "json")
            .env("PLATFORM__LOGGING__LEVEL", "info")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the platform binary starts");
        let (tx, lines) = std::sync::mpsc::channel();
        for out in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The process id.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a log line contains `needle`.
    ///
    /// # Panics
    /// When the process exits first or `within` passes (with every line seen).
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        self.drain();
                        panic!("platform exited ({status}) before logging {needle:?}: {:#?}", self.seen);
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no line with {needle:?} within {within:?}: {:#?}",
                        self.seen
                    );
                }
            }
        }
    }

    /// Every line logged so far.
    pub fn drain(&mut self) -> &[String] {
        self.seen.extend(self.lines.try_iter());
        &self.seen
    }

    /// Sends `signal` (`KILL`, `TERM`) with `kill(1)`.
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit.
    ///
    /// # Panics
    /// When it is still running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.drain();
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {within:?}: {:#?}",
                self.drain()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PlatformProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
