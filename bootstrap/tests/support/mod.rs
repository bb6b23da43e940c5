//! Shared by the binary suites: the `platform` command, a tiny HTTP client,
//! JSON log lines read on a thread, skip-or-fail for missing servers.
#![allow(dead_code, clippy::unwrap_used)] // test code; each suite uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The binary on the test environment with JSON logs on stdout.
pub fn platform() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_platform"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("--config-dir")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../config"))
        .env("PLATFORM_ENV", "test")
        .env("PLATFORM__LOGGING__FORMAT", "json")
        .env("PLATFORM__LOGGING__LEVEL", "info");
    cmd
}

/// Under `CI=true` a missing server fails the test; otherwise a loud skip.
pub fn skip_or_fail(test: &str, reason: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true and {test}: {reason}");
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {test}: {reason} ***\n");
}

/// A name no other run uses.
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// One HTTP/1.1 request; returns the status and the body.
pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, body)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A started platform: its address and its JSON log lines.
pub struct Running {
    pub child: Child,
    pub addr: String,
    pub lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    /// Spawns `cmd` and waits for the bound address; panics with the output when it exits.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let lines = read_lines(child.stdout.take().unwrap());
        let errors = read_lines(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let addr = serde_json::from_str::<serde_json::Value>(&line)
                        .ok()
                        .and_then(|j| j.get("address").and_then(|a| a.as_str()).map(str::to_owned));
                    seen.push(line);
                    if let Some(addr) = addr {
                        return Self {
                            child,
                            addr,
                            lines,
                            seen,
                        };
                    }
                }
                Err(_) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        let stderr: Vec<String> = errors.try_iter().collect();
                        panic!("platform exited ({status}) before listening: {seen:#?} {stderr:#?}");
                    }
                    assert!(Instant::now() < deadline, "no listening line in {seen:#?}");
                }
            }
        }
    }

    /// Every line logged so far.
    pub fn drain(&mut self) -> &[String] {
        self.seen.extend(self.lines.try_iter());
        &self.seen
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(out: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Runs `cmd` to the end: exit code, stdout, stderr.
pub fn run(mut cmd: Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The bootstrap administrator's password the suites configure.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple 42";

/// Logs in as `admin@example.com`; returns the access token.
pub fn login(addr: &str) -> String {
    let body = serde_json::json!({ "email": "admin@example.com", "password": ADMIN_PASSWORD }).to_string();
    let (status, reply) = http(addr, "POST", "/api/v1/auth/login", &[], Some(&body));
    assert_eq!(status, 200, "{reply}");
    serde_json::from_str::<serde_json::Value>(&reply).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}
