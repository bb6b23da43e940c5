//! The Sentry sink against a fake Sentry on port 0 that decodes envelopes.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use platform_adapter_telemetry::{SentrySettings, SentrySink};
use platform_ports::error_bus::{ErrorReport, ErrorSink as _};
use platform_ports::lifecycle::BackgroundService as _;
use platform_ports::metrics::{Counter, Label, LabelValue};
use platform_ports::model::{SecretString, TenantId, UserId};
use serde_json::Value;
use tokio::net::TcpListener;

const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// One envelope as the fake received it.
#[derive(Clone, Debug)]
struct Received {
    auth: String,
    content_type: String,
    body: String,
}

#[derive(Clone)]
struct Fake {
    received: Arc<Mutex<Vec<Received>>>,
    status: StatusCode,
}

/// A fake Sentry answering `status`; returns its DSN and what it received.
async fn fake_sentry(status: StatusCode) -> (String, Arc<Mutex<Vec<Received>>>) {
    async fn envelope(State(fake): State<Fake>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        fake.received.lock().unwrap().push(Received {
            auth: header("x-sentry-auth"),
            content_type: header("content-type"),
            body: String::from_utf8(body.to_vec()).unwrap(),
        });
        (fake.status, [("retry-after", "60")], "{}")
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let fake = Fake {
        received: Arc::clone(&received),
        status,
    };
    let app = axum::Router::new()
        .route("/api/42/envelope/", post(envelope))
        .with_state(fake);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://publickey@{addr}/42"), received)
}

/// Counts drops by reason.
#[derive(Default)]
struct Drops(Mutex<BTreeMap<String, u64>>);

impl Counter for Drops {
    fn add(&self, value: u64, labels: &[Label]) {
        let reason = labels.iter().find(|l| l.key == "reason").map(|l| match &l.value {
            LabelValue::Static(s) => (*s).to_owned(),
            other => format!("{other:?}"),
        });
        *self.0.lock().unwrap().entry(reason.unwrap()).or_default() += value;
    }
}

impl Drops {
    fn get(&self, reason: &str) -> u64 {
        self.0.lock().unwrap().get(reason).copied().unwrap_or(0)
    }
}

fn sink(dsn: &str, tune: impl FnOnce(&mut SentrySettings)) -> (SentrySink, Arc<Drops>) {
    let mut settings = SentrySettings::new(SecretString::new(dsn));
    settings.environment = Some("test".into());
    settings.release = Some("platform@0.1.0".into());
    settings.timeout = Duration::from_secs(2);
    tune(&mut settings);
    let sink = SentrySink::new(settings).unwrap();
    let drops = Arc::new(Drops::default());
    sink.set_dropped_counter(Some(drops.clone()));
    (sink, drops)
}

fn panic_report() -> ErrorReport {
    let mut report = ErrorReport::message(format!(
        "handler panicked at src/posts.rs:10: request GET /api/v1/posts authorization: Bearer {JWT}\nbody password=hunter2"
    ))
    .in_module("http");
    report.chain = vec!["pool error: postgres://app:dbpass@db:5432/app unreachable".into()];
    report.context.request_id = Some("req-123".into());
    report.context.trace_id = Some(TRACE_ID.into());
    report.context.user_id = Some(UserId::new());
    report.context.tenant_id = Some(TenantId(uuid::Uuid::new_v4()));
    report
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_event_carries_the_request_context_and_no_secrets() {
    let (dsn, received) = fake_sentry(StatusCode::OK).await;
    let (sink, _) = sink(&dsn, |_| {});
    sink.start().await.unwrap();
    let report = panic_report();
    sink.emit(&report).await;
    wait_for("the envelope", || sink.sent() == 1).await;
    sink.stop().await.unwrap();

    let got = received.lock().unwrap()[0].clone();
    assert_eq!(got.content_type, "application/x-sentry-envelope");
    assert!(
        got.auth.starts_with("Sentry sentry_version=7, sentry_key=publickey,"),
        "{}",
        got.auth
    );
    let lines: Vec<&str> = got.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", got.body);
    let header: Value = serde_json::from_str(lines[0]).unwrap();
    let item: Value = serde_json::from_str(lines[1]).unwrap();
    let event: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(item["type"], "event");
    assert_eq!(item["length"].as_u64().unwrap() as usize, lines[2].len());
    assert_eq!(header["event_id"], event["event_id"]);

    assert_eq!(event["level"], "error");
    assert_eq!(event["environment"], "test");
    assert_eq!(event["release"], "platform@0.1.0");
    assert_eq!(event["tags"]["request_id"], "req-123");
    assert_eq!(event["tags"]["trace_id"], TRACE_ID);
    assert_eq!(event["contexts"]["trace"]["trace_id"], TRACE_ID);
    assert_eq!(
        event["tags"]["tenant_id"],
        report.context.tenant_id.unwrap().to_string()
    );
    assert_eq!(event["tags"]["module"], "http");
    assert_eq!(event["user"]["id"], report.context.user_id.unwrap().to_string());
    let exceptions = event["exception"]["values"].as_array().unwrap();
    assert_eq!(exceptions.len(), 2);
    assert!(exceptions[1]["value"].as_str().unwrap().starts_with("handler panicked"));

    for secret in [JWT, "hunter2", "dbpass"] {
        assert!(!got.body.contains(secret), "`{secret}` leaked: {}", got.body);
    }
    assert!(
        event["logentry"]["formatted"]
            .as_str()
            .unwrap()
            .contains("authorization: [Filtered]")
    );
}

#[tokio::test]
async fn the_local_budget_drops_and_counts_the_excess() {
    let (dsn, received) = fake_sentry(StatusCode::OK).await;
    let (sink, drops) = sink(&dsn, |s| s.max_events_per_minute = 2);
    sink.start().await.unwrap();
    for _ in 0..5 {
        sink.emit(&ErrorReport::message("boom")).await;
    }
    wait_for("all five handled", || sink.sent() + sink.dropped() == 5).await;
    sink.stop().await.unwrap();
    assert_eq!((sink.sent(), drops.get("rate_limited")), (2, 3));
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_429_pauses_sending_for_as_long_as_the_server_asks() {
    let (dsn, received) = fake_sentry(StatusCode::TOO_MANY_REQUESTS).await;
    let (sink, drops) = sink(&dsn, |_| {});
    sink.start().await.unwrap();
    for _ in 0..4 {
        sink.emit(&ErrorReport::message("boom")).await;
    }
    wait_for("all four handled", || sink.dropped() == 4).await;
    sink.stop().await.unwrap();
    // One request learnt the limit (Retry-After: 60); the rest never left.
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(drops.get("rate_limited"), 4);
}

#[tokio::test]
async fn an_unreachable_server_costs_the_caller_nothing_and_drops_are_counted() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (sink, drops) = sink(&format!("http://k@127.0.0.1:{port}/42"), |_| {});
    sink.start().await.unwrap();
    let started = Instant::now();
    for _ in 0..20 {
        sink.emit(&panic_report()).await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    wait_for("all twenty handled", || sink.dropped() == 20).await;
    sink.stop().await.unwrap();
    assert_eq!((sink.sent(), drops.get("unreachable")), (0, 20));
}

#[tokio::test]
async fn a_full_queue_drops_instead_of_waiting() {
    let (dsn, _) = fake_sentry(StatusCode::OK).await;
    // Not started: nothing drains the queue of one.
    let (sink, drops) = sink(&dsn, |s| s.queue_capacity = 1);
    for _ in 0..3 {
        sink.emit(&ErrorReport::message("boom")).await;
    }
    assert_eq!(drops.get("queue_full"), 2);
}

#[test]
fn a_bad_dsn_names_the_key_but_not_the_dsn() {
    let err = SentrySink::new(SentrySettings::new(SecretString::new("https://sentry.example.com/1")))
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("error_bus.sentry.dsn: "), "{err}");
    assert!(!err.contains("sentry.example.com"), "{err}");
}
