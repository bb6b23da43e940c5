//! A `redis-server` a test owns (for outages: kill, restart, freeze), shared
//! by the Redis adapter's tests and the black-box outage tests.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Whether this run is CI, where a missing server fails instead of skipping.
#[must_use]
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Fails in CI, prints a loud skip notice otherwise.
///
/// # Panics
/// When `CI=true`.
pub fn skip_or_fail(reason: &str) {
    assert!(!in_ci(), "CI=true and {reason}");
    // Straight to the stream: libtest swallows `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {reason} ***\n");
}

/// A local port nothing listens on (bound, then released).
#[must_use]
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether a Redis at `127.0.0.1:{port}` answers `PING` within a second.
pub async fn answers(port: u16) -> bool {
    let ping = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    matches!(tokio::time::timeout(Duration::from_secs(1), ping).await, Ok(Some(true)))
}

/// Polls `condition` every 20 ms until it holds or `limit` passes; returns
/// how long it took.
///
/// # Panics
/// When `limit` passes first.
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

/// The `redis-server` binary on `PATH`.
fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// A `redis-server` on its own port: no persistence, killed when dropped.
pub struct Throwaway {
    binary: PathBuf,
    /// The port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl Throwaway {
    /// Starts one on a free port, or `None` after a loud skip (a failure in
    /// CI) when `redis-server` is not on `PATH`.
    pub async fn start(test: &str) -> Option<Self> {
        let Some(binary) = binary() else {
            skip_or_fail(&format!(
                "{test}: no redis-server binary on PATH (apt-get install redis-server)"
            ));
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
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and waits until it answers.
    ///
    /// # Panics
    /// When it does not answer within 10 s.
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
        while !answers(self.port).await {
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
    ///
    /// # Panics
    /// When the server is not running or `kill` fails.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("server running");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }
}
