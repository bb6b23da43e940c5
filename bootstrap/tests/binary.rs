//! The `platform` binary end to end: start, serve, SIGTERM, exit 0; bad config exits non-zero naming the key.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::platform;

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_then_exits_zero_on_sigterm() {
    let mut child = platform()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    // The bound address (port 0) is logged.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no listening line in {lines:#?}"));
        let json: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        lines.push(line.clone());
        if let Some(addr) = json.get("address").and_then(|a| a.as_str()) {
            break addr.to_owned();
        }
    };
    let resp = http_get(&addr, "/healthz");
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
    // Logs carried the adapter choices.
    let all: Vec<String> = lines.into_iter().chain(rx.try_iter()).collect();
    assert!(
        all.iter().any(|l| l.contains("\"port\":\"UserRepository\"")),
        "adapter choices not logged"
    );
}

#[test]
fn bad_configuration_exits_non_zero_naming_the_key() {
    let out = platform().env("PLATFORM__SERVER__PORT", "not-a-port").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("server.port"), "{stderr}");
}

#[test]
fn config_check_prints_redacted_configuration() {
    let out = platform()
        .args(["config", "check"])
        .env("PLATFORM__DATABASE__DSN", "postgres://u:hunter2@h/db")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["settings"]["server"]["port"], 0);
    assert_eq!(doc["settings"]["database"]["dsn"], "[REDACTED]");
    // The adapters as built, and their health.
    assert_eq!(
        doc["adapters"]["UserRepository"],
        "platform_adapter_memory::MemoryUserRepository"
    );
    assert_eq!(
        doc["adapters"]["SecretSource"],
        "platform_adapter_secrets::FileSecretSource"
    );
    assert_eq!(doc["health"]["disk"]["status"], "up");
    assert!(!stdout.contains("hunter2") && !stdout.contains("test-only-jwt-secret"));
}

#[test]
fn worker_needs_a_shared_queue() {
    // The in-memory queue lives in the serving process: a separate worker
    // would work nothing, so it is refused as a configuration error.
    let out = platform().arg("worker").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scheduler.driver"), "{stderr}");
}
