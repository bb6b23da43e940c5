//! Relay throughput from the PostgreSQL outbox to Kafka, against the raw
//! rdkafka producer sending the same messages to the same broker in the same
//! run (the ratio's base).
//!
//! The relay is the platform's own (`OutboxRelay` over `PgOutbox` and
//! `KafkaEventBus`, the production settings' batch): claim a batch, hand
//! all of it to the producer at once (each aggregate's events in order on
//! its partition), await the acknowledgements, mark the acknowledged rows
//! sent in one statement, until the outbox is empty. The raw producer sends every message with up to 1000 in flight,
//! the rate a producer without an outbox or order reaches. It lives here
//! because it combines two adapters with the application.
//!
//! `cargo bench -p platform-tests --bench relay_kafka`: 20 000 events
//! (`PLATFORM_BENCH_RELAY_EVENTS`; `PLATFORM_BENCH_RELAY_BATCH` sets the
//! relay's batch, default the production one), on two shapes: blog-like (4 events per
//! aggregate) and 64 hot aggregates. Without `--bench` (as `cargo test
//! --all-targets` runs it) it relays a few hundred to check the path works.
//! PostgreSQL from `PLATFORM_TEST_DATABASE_URL`, Kafka from
//! `PLATFORM_TEST_KAFKA_BROKERS` (default `127.0.0.1:19092`); without them it
//! says so and stops.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "a benchmark binary")]

#[path = "../../adapters/postgres/tests/support/mod.rs"]
mod support;
// The raw-producer baseline of the Kafka adapter's own publish bench.
#[path = "../../adapters/kafka/benches/support/mod.rs"]
mod raw;

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use platform_adapter_kafka::{KafkaEventBus, KafkaSettings};
use platform_adapter_postgres::{PgOutbox, PgUnitOfWork};
use platform_application::{OutboxRelay, RelaySettings};
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::{Event, Outbox};
use platform_ports::model::{RequestContext, TenantId};
use platform_ports::persistence::UnitOfWork;
use raw::raw_publish;
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;

const TOPIC_PREFIX: &str = "bench.relay";
/// Raw producer sends in flight at once.
const RAW_WINDOW: usize = 1000;

/// Relay failures would show as a stalled run; they are printed.
struct PrintErrors;

impl ErrorPublisher for PrintErrors {
    fn publish(&self, report: ErrorReport) {
        println!("relay error: {}", report.message);
    }
    fn publish_with_context(&self, _ctx: &RequestContext, report: ErrorReport) {
        self.publish(report);
    }
}

fn events(n: usize, aggregates: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::new(
                "blog.post.published",
                "blog",
                TenantId::DEFAULT,
                serde_json::json!({ "post": i, "title": "A title of a typical length", "tags": ["rust", "kafka"] }),
            )
            .with_aggregate(format!("post-{}", i % aggregates))
        })
        .collect()
}

/// Commits `events` to the outbox, 500 per unit of work (not timed).
async fn fill(uow: &PgUnitOfWork, outbox: &PgOutbox, topic: &str, events: &[Event]) {
    for chunk in events.chunks(500) {
        let mut tx = uow.begin().await.unwrap();
        for event in chunk {
            outbox.enqueue(&mut tx, topic, event).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// Relays until the outbox is empty.
async fn drain(relay: &OutboxRelay, outbox: &PgOutbox) -> Duration {
    let started = Instant::now();
    loop {
        if relay.relay_once().await.unwrap() == 0 && outbox.pending().await.unwrap() == 0 {
            return started.elapsed();
        }
    }
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

async fn run(brokers: &str, n: usize) {
    let Some(schema) = support::TestSchema::create().await else {
        return;
    };
    let uow = PgUnitOfWork::new(schema.db.clone());
    let outbox = PgOutbox::new(schema.db.clone());
    let settings = KafkaSettings {
        brokers: brokers.to_owned(),
        client_id: "platform-bench".to_owned(),
        partitions: 3,
        ..KafkaSettings::default()
    };
    let bus = KafkaEventBus::connect(settings.clone(), None).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("client.id", "platform-bench-raw")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", settings.linger.as_millis().to_string())
        .set("batch.size", settings.batch_size.to_string())
        .create()
        .unwrap();
    let defaults = RelaySettings::default();
    let relay_settings = RelaySettings {
        publish_timeout: settings.publish_timeout,
        batch_size: env_number("PLATFORM_BENCH_RELAY_BATCH").unwrap_or(defaults.batch_size),
        ..defaults
    };
    let relay = OutboxRelay::new(
        Arc::new(outbox.clone()),
        Arc::new(bus.clone()),
        Arc::new(PrintErrors),
        relay_settings.clone(),
    );
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("{TOPIC_PREFIX}.{stamp}");
    // Creates the topic and warms both clients' connections.
    let warm = events(1, 1);
    fill(&uow, &outbox, &topic, &warm).await;
    drain(&relay, &outbox).await;
    raw_publish(&producer, &topic, &warm, 1).await;

    println!(
        "Kafka at {brokers}, topic {topic}, 3 partitions, acks=all, linger {:?}; relay batch {}",
        settings.linger, relay_settings.batch_size
    );
    for (shape, aggregates) in [("4 events per aggregate", n / 4), ("64 hot aggregates", 64)] {
        let sample = events(n, aggregates.max(1));
        // Alternate, so drift in the shared machine's load hits both alike.
        let mut raw = Duration::ZERO;
        let mut relayed = Duration::ZERO;
        for _ in 0..2 {
            raw += raw_publish(&producer, &topic, &sample, RAW_WINDOW).await;
            fill(&uow, &outbox, &topic, &sample).await;
            relayed += drain(&relay, &outbox).await;
        }
        let (raw, relayed) = (rate(2 * n, raw), rate(2 * n, relayed));
        println!("{shape}:");
        println!("  raw rdkafka producer      {raw:>10.0} events/s");
        println!("  relay, outbox -> Kafka    {relayed:>10.0} events/s");
        println!("  ratio relay/raw: {:.1} % (target >= 50 %)", relayed / raw * 100.0);
    }
    bus.close().await.unwrap();
    bus.delete_topics(&[&topic]).await.unwrap();
}

fn reachable(brokers: &str) -> bool {
    brokers
        .split(',')
        .next()
        .and_then(|b| b.trim().to_socket_addrs().ok())
        .into_iter()
        .flatten()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).filter(|n| *n > 0)
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let n = if measuring {
        env_number("PLATFORM_BENCH_RELAY_EVENTS").unwrap_or(20_000)
    } else {
        256
    };
    let brokers = std::env::var("PLATFORM_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
    if !reachable(&brokers) {
        println!("*** SKIPPED: relay bench: no Kafka at {brokers} (start it with .ci/services/kafka.sh) ***");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(&brokers, n.max(64)));
}
