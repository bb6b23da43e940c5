//! The binary with `telemetry.otlp.*` pointed at a fake OTLP/HTTP receiver
//! on port 0 (decoding with `opentelemetry-proto`), and with
//! `error_bus.sentry.dsn` pointed at a fake Sentry: a request's
//! `traceparent` is honoured down to its database queries and its log lines,
//! and a handler panic reaches Sentry with the request and trace ids and
//! without the `Authorization` value.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod otlp;
mod support;

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::Span;
use otlp::{Received, attribute, hex, spans};
use serde_json::Value;
use support::{ADMIN_PASSWORD, Running, http, login, platform, skip_or_fail, unique};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn stop(running: &mut Running) {
    let pid = running.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// PostgreSQL in a schema of this test's own, or `None` after a loud skip.
fn schema(test: &str) -> Option<(String, String, tokio::runtime::Runtime)> {
    let base = std::env::var("PLATFORM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = unique("trace").replace('-', "_");
    let created = rt.block_on(async {
        let pool = sqlx::PgPool::connect(&base).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok::<_, sqlx::Error>(())
    });
    match created {
        Ok(()) => Some((format!("{base}?options=-csearch_path%3D{name}"), name, rt)),
        Err(err) => {
            skip_or_fail(test, &format!("PostgreSQL not reachable at {base} ({err})"));
            None
        }
    }
}

fn drop_schema(rt: &tokio::runtime::Runtime, name: &str) {
    let base = std::env::var("PLATFORM_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

#[test]
fn a_traceparent_is_honoured_down_to_the_database_and_the_log_lines() {
    let Some((dsn, schema_name, rt)) = schema("traces") else {
        return;
    };
    let (collector, got) = otlp::collector("/v1/traces");
    let mut cmd = platform();
    cmd.env("PLATFORM__TELEMETRY__OTLP__ENABLED", "true")
        .env("PLATFORM__TELEMETRY__OTLP__ENDPOINT", format!("http://{collector}"))
        .env("PLATFORM__TELEMETRY__OTLP__PROTOCOL", "http")
        .env("PLATFORM__TELEMETRY__OTLP__SAMPLING_RATIO", "0")
        .env("PLATFORM__DATABASE__DRIVER", "postgres")
        .env("PLATFORM__DATABASE__DSN", &dsn)
        .env("PLATFORM__ADMIN__EMAIL", "admin@example.com")
        .env("PLATFORM__ADMIN__PASSWORD", ADMIN_PASSWORD);
    let mut running = Running::start(cmd);
    let token = login(&running.addr);
    let bearer = format!("Bearer {token}");
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let (status, body) = http(
        &running.addr,
        "GET",
        "/api/v1/users/me",
        &[
            ("Authorization", &bearer),
            ("traceparent", &traceparent),
            ("x-request-id", "traced-request"),
        ],
        None,
    );
    assert_eq!(status, 200, "{body}");
    // SIGTERM: the lifecycle's last stop flushes the batch exporter.
    stop(&mut running);
    drop_schema(&rt, &schema_name);

    let spans = spans(&got);
    let in_trace: Vec<&Span> = spans.iter().filter(|s| hex(&s.trace_id) == TRACE_ID).collect();
    let server = in_trace
        .iter()
        .find(|s| hex(&s.parent_span_id) == CALLER_SPAN)
        .unwrap_or_else(|| panic!("no span with the caller as parent in {in_trace:#?}"));
    assert_eq!(server.name, "GET /api/v1/users/me");
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attribute(server, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(attribute(server, "http.route").as_deref(), Some("/api/v1/users/me"));
    assert_eq!(attribute(server, "http.response.status_code").as_deref(), Some("200"));
    let db = in_trace
        .iter()
        .find(|s| s.name == "db.query")
        .unwrap_or_else(|| panic!("no database span in the trace: {in_trace:#?}"));
    assert_eq!(attribute(db, "db.system").as_deref(), Some("postgresql"));
    assert_eq!(db.kind, 3, "SPAN_KIND_CLIENT");
    // The ratio is 0: only the caller's sampled flag got this trace exported,
    // so the login before it (no traceparent) exported nothing.
    assert!(
        spans.iter().all(|s| hex(&s.trace_id) == TRACE_ID),
        "unsampled traces were exported"
    );

    let server_span = hex(&server.span_id);
    let lines: Vec<Value> = running
        .drain()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["request_id"] == "traced-request")
        .collect();
    assert!(!lines.is_empty(), "the request logged nothing");
    for line in &lines {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["span_id"], server_span.as_str(), "{line}");
    }
}

#[test]
fn export_off_exports_nothing_and_logs_the_caller_trace_id() {
    let (collector, got) = otlp::collector("/v1/traces");
    let mut cmd = platform();
    cmd.env("PLATFORM__TELEMETRY__OTLP__ENDPOINT", format!("http://{collector}"));
    let mut running = Running::start(cmd);
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let (status, _) = http(
        &running.addr,
        "GET",
        "/healthz",
        &[("traceparent", &traceparent), ("x-request-id", "untraced")],
        None,
    );
    assert_eq!(status, 200);
    stop(&mut running);
    assert!(spans(&got).is_empty(), "telemetry.otlp.enabled is false by default");
    let line = running
        .drain()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["request_id"] == "untraced")
        .unwrap();
    assert_eq!(line["trace_id"], TRACE_ID);
}

/// Sentry envelope: one JSON header line, then (item header, payload) pairs.
fn sentry_events(got: &Received) -> Vec<Value> {
    got.lock()
        .unwrap()
        .iter()
        .flat_map(|body| {
            let text = String::from_utf8_lossy(body).into_owned();
            text.lines()
                .skip(1)
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v.get("event_id").is_some() || v.get("exception").is_some())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn a_handler_panic_reaches_sentry_with_request_and_trace_ids_and_no_authorization() {
    let (sentry, got) = otlp::collector("/api/42/envelope/");
    let dsn = format!("http://public-key@{sentry}/42");
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // In process: the binary has no panicking route.
        let platform = platform_with_panic_route(&dsn).await;
        let addr = platform.local_addr().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(platform.run_until(async move {
            let _ = stopped.await;
        }));
        let (status, body) = tokio::task::spawn_blocking(move || {
            http(
                &addr,
                "GET",
                "/boom",
                &[
                    ("Authorization", "Bearer super-secret-token-value"),
                    ("traceparent", &traceparent),
                    ("x-request-id", "panicking-request"),
                ],
                None,
            )
        })
        .await
        .unwrap();
        assert_eq!(status, 500, "{body}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while sentry_events(&got).is_empty() {
            assert!(Instant::now() < deadline, "no event reached the fake Sentry");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    });
    let raw: String = got
        .lock()
        .unwrap()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(
        !raw.contains("super-secret-token-value"),
        "the Authorization value leaked: {raw}"
    );
    let event = sentry_events(&got).remove(0);
    let text = event.to_string();
    assert!(text.contains("panicking-request"), "no request id: {event:#}");
    assert!(text.contains(TRACE_ID), "no trace id: {event:#}");
}

/// The platform with the Sentry sink configured and a `/boom` route that panics.
async fn platform_with_panic_route(dsn: &str) -> platform_bootstrap::app::Platform {
    use platform_bootstrap::app::{Platform, PlatformOptions};
    use platform_bootstrap::config::{self, LoadOptions};
    let vars = [
        ("PLATFORM__ERROR_BUS__SENTRY__DSN", dsn),
        ("PLATFORM__SERVER__PORT", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let loaded = config::load(&LoadOptions {
        config_dir: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../config").into()),
        environment: Some(config::Environment::Test),
        vars: Some(vars),
    })
    .unwrap();
    let routes = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if std::hint::black_box(true) {
                panic!("handler exploded");
            }
            "unreachable"
        }),
    );
    let options = PlatformOptions {
        routes,
        ..PlatformOptions::default()
    };
    Platform::build_with(loaded.settings, options).await.unwrap()
}
