//! Publish throughput, each figure with a baseline measured in the same run:
//!
//! - `KafkaEventBus::publish` (acknowledged, `acks=all`) against a raw
//!   rdkafka `FutureProducer` with the same producer settings sending the
//!   same key, value and headers to the same broker, both with the same
//!   number of publishes in flight;
//! - the in-process bus's publish → handle rate against a bare tokio
//!   channel carrying the same events to one task.
//!
//! `cargo bench -p platform-adapter-kafka --bench publish`; the broker comes
//! from `PLATFORM_TEST_KAFKA_BROKERS` (default `127.0.0.1:19092`, see
//! `.ci/services/kafka.sh`); without one only the in-process part runs.
//! `BENCH_KAFKA_EVENTS` (default 20000) and `BENCH_MEMORY_EVENTS` (default
//! 1000000) size the runs.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, reason = "a benchmark binary")]

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use platform_adapter_kafka::{KafkaEventBus, KafkaSettings};
use platform_adapter_memory::{InProcessBusSettings, InProcessEventBus};
use platform_ports::BoxError;
use platform_ports::events::{Event, EventBus, EventHandler};
use platform_ports::model::TenantId;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio::sync::Notify;

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

/// The raw producer: what `KafkaEventBus` sends, without the bus around it.
async fn raw_publish(producer: &FutureProducer, topic: &str, events: &[Event], window: usize) -> Duration {
    let started = Instant::now();
    futures::stream::iter(events)
        .map(|event| async move {
            let payload = serde_json::to_vec(event).unwrap();
            let id = event.id.to_string();
            let key = event.aggregate_id.clone().unwrap_or_default();
            let headers = OwnedHeaders::new_with_capacity(4)
                .insert(Header {
                    key: "event-id",
                    value: Some(&id),
                })
                .insert(Header {
                    key: "event-type",
                    value: Some(&event.event_type),
                })
                .insert(Header {
                    key: "content-type",
                    value: Some("application/json"),
                });
            let record = FutureRecord::to(topic).key(&key).payload(&payload).headers(headers);
            producer
                .send(record, Timeout::After(Duration::from_secs(30)))
                .await
                .unwrap();
        })
        .buffer_unordered(window)
        .collect::<Vec<()>>()
        .await;
    started.elapsed()
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

/// Counts handled events and wakes the benchmark at the last one.
struct Counter {
    handled: AtomicU64,
    target: u64,
    done: Notify,
}

#[async_trait]
impl EventHandler for Counter {
    async fn handle(&self, _: &Event) -> Result<(), BoxError> {
        if self.handled.fetch_add(1, Ordering::Relaxed) + 1 == self.target {
            self.done.notify_one();
        }
        Ok(())
    }
}

async fn in_process(runtime: &str) {
    println!("in-process bus on a {runtime} tokio runtime");
    let n = count("BENCH_MEMORY_EVENTS", 1_000_000);
    let events = events(n.min(10_000));
    let nth = |i: usize| &events[i % events.len()];

    // What `publish(&Event)` cannot avoid: copying the event into an `Arc`.
    let started = Instant::now();
    let mut kept = 0usize;
    for i in 0..n {
        kept += Arc::strong_count(&std::hint::black_box(Arc::new(nth(i).clone())));
    }
    assert_eq!(kept, n);
    report("Event clone into an Arc only", n, started.elapsed());

    // Baseline: the same events, cloned into an `Arc` and sent through a
    // bounded tokio channel to one receiving task.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<Event>>(1024);
    let receiver = tokio::spawn(async move {
        let mut seen = 0usize;
        while rx.recv().await.is_some() {
            seen += 1;
        }
        seen
    });
    let started = Instant::now();
    for i in 0..n {
        tx.send(Arc::new(nth(i).clone())).await.unwrap();
    }
    drop(tx);
    assert_eq!(receiver.await.unwrap(), n);
    let channel = report("tokio channel send -> recv (baseline)", n, started.elapsed());

    let bus = InProcessEventBus::new(InProcessBusSettings::default());
    let counter = Arc::new(Counter {
        handled: AtomicU64::new(0),
        target: n as u64,
        done: Notify::new(),
    });
    bus.subscribe("bench.memory", "counter", counter.clone()).await.unwrap();
    let started = Instant::now();
    for i in 0..n {
        bus.publish("bench.memory", nth(i)).await.unwrap();
    }
    if counter.handled.load(Ordering::Relaxed) < n as u64 {
        counter.done.notified().await;
    }
    let ours = report("InProcessEventBus publish -> handle", n, started.elapsed());
    println!(
        "  ratio bus/channel: {:.1} % (target: bus >= 1000000 events/s)",
        ours / channel * 100.0
    );
    bus.close(Duration::from_secs(10)).await.unwrap();
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
    println!("(figures taken on a shared machine: other builds run meanwhile)");
    // One thread: publisher and handler take turns, no cross-thread wake-ups.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(in_process("current-thread"));
    runtime.block_on(async {
        in_process("2-worker multi-thread").await;
        let brokers = std::env::var("PLATFORM_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
        if reachable(&brokers) {
            kafka(&brokers).await;
        } else {
            println!("*** SKIPPED: Kafka part: no broker at {brokers} (start it with .ci/services/kafka.sh) ***");
        }
    });
}
