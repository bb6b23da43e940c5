//! Publish throughput, each figure with a baseline measured in the same run:
//!
//! - `KafkaEventBus::publish` (acknowledged, `acks=all`) against a raw
//!   rdkafka `FutureProducer` with the same producer settings sending the
//!   same key, value and headers to the same broker, both with the same
//!   number of publishes in flight.
//!
//! (The in-process bus has its own: `cargo bench -p platform-adapter-memory
//! --bench in_process_bus`.)
//!
//! `cargo bench -p platform-adapter-kafka --bench publish`; the broker comes
//! from `PLATFORM_TEST_KAFKA_BROKERS` (default `127.0.0.1:19092`, see
//! `.ci/services/kafka.sh`); without one it says so and stops.
//! `BENCH_KAFKA_EVENTS` (default 20000) sizes the runs.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "a benchmark binary")]

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

mod support;

use futures::StreamExt;
use platform_adapter_kafka::{KafkaEventBus, KafkaSettings};
use platform_ports::events::{Event, EventBus};
use platform_ports::model::TenantId;
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;
use support::raw_publish;

/// Publishes in flight at once in the concurrent Kafka runs.
const WINDOW: usize = 1000;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::new(
                "blog.post.published",
                "blog",
                TenantId::DEFAULT,
                serde_json::json!({ "post": i, "title": "A title of a typical length", "tags": ["rust", "kafka"] }),
            )
            .with_aggregate(format!("post-{}", i % 64))
        })
        .collect()
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn report(name: &str, n: usize, elapsed: Duration) -> f64 {
    let r = rate(n, elapsed);
    println!(
        "{name:<46} {n:>8} events in {:>8.3} s = {r:>12.0} events/s",
        elapsed.as_secs_f64()
    );
    r
}

async fn bus_publish(bus: &KafkaEventBus, topic: &str, events: &[Event], window: usize) -> Duration {
    let started = Instant::now();
    futures::stream::iter(events)
        .map(|event| async move { bus.publish(topic, event).await.unwrap() })
        .buffer_unordered(window)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
}

async fn kafka(brokers: &str) {
    let n = count("BENCH_KAFKA_EVENTS", 20_000);
    let settings = KafkaSettings {
        brokers: brokers.to_owned(),
        client_id: "platform-bench".to_owned(),
        partitions: 3,
        ..KafkaSettings::default()
    };
    let bus = KafkaEventBus::connect(settings.clone(), None).unwrap();
    let producer: FutureProducer = {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers)
            .set("client.id", "platform-bench-raw")
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", settings.linger.as_millis().to_string())
            .set("batch.size", settings.batch_size.to_string());
        config.create().unwrap()
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let topic = format!("bench.publish.{stamp}");
    let events = events(n);
    // Creates the topic and warms both clients' connections.
    bus.publish(&topic, &events[0]).await.unwrap();
    raw_publish(&producer, &topic, &events[..1], 1).await;

    println!("Kafka at {brokers}, topic {topic}, 3 partitions, acks=all, idempotent");
    for window in [WINDOW, 1] {
        let sample = if window == 1 {
            &events[..n.min(500)]
        } else {
            &events[..]
        };
        // Alternate, so drift in the shared machine's load hits both alike.
        let raw_a = raw_publish(&producer, &topic, sample, window).await;
        let bus_a = bus_publish(&bus, &topic, sample, window).await;
        let raw_b = raw_publish(&producer, &topic, sample, window).await;
        let bus_b = bus_publish(&bus, &topic, sample, window).await;
        let raw = report(
            &format!("raw rdkafka producer, {window} in flight"),
            sample.len() * 2,
            raw_a + raw_b,
        );
        let ours = report(
            &format!("KafkaEventBus::publish, {window} in flight"),
            sample.len() * 2,
            bus_a + bus_b,
        );
        println!("  ratio bus/raw: {:.1} % (target >= 50 %)", ours / raw * 100.0);
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

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no other arguments.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let brokers = std::env::var("PLATFORM_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
        if reachable(&brokers) {
            kafka(&brokers).await;
        } else {
            println!("*** SKIPPED: Kafka part: no broker at {brokers} (start it with .ci/services/kafka.sh) ***");
        }
    });
}
