//! What the Kafka tests share: finding the broker (or skipping loudly),
//! unique topic and group names, fast settings, and reading topics raw.

#![allow(dead_code, reason = "each test binary uses part of the support code")]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_adapter_kafka::{KafkaEventBus, KafkaSettings, RetrySettings};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// Handler retries in the tests: three, quickly.
pub const MAX_RETRIES: u32 = 3;

/// Whether this run is CI, where a missing broker fails instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The brokers the tests use.
pub fn brokers() -> String {
    std::env::var("PLATFORM_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

/// Whether the first broker accepts TCP connections.
fn reachable(brokers: &str) -> bool {
    let Some(first) = brokers.split(',').next() else {
        return false;
    };
    let Ok(mut addrs) = first.trim().to_socket_addrs() else {
        return false;
    };
    addrs.any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
}

/// The brokers, or `None` after a loud skip (a failure in CI).
pub fn broker_or_skip(test: &str) -> Option<String> {
    let brokers = brokers();
    if reachable(&brokers) {
        return Some(brokers);
    }
    assert!(!in_ci(), "CI=true and Kafka is not reachable at {brokers} for {test}");
    // Straight to the stream: libtest swallows `eprintln!` of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {test}: Kafka not reachable at {brokers} (start it with .ci/services/kafka.sh) ***\n"
    );
    None
}

/// A name no other test (or earlier run) uses.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!(
        "test.{name}.{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for tests: a short session timeout (the broker's first group
/// join otherwise waits ~20 s), quick retries, a group prefix of their own.
pub fn settings(brokers: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: brokers.to_owned(),
        client_id: "platform-tests".to_owned(),
        group_id_prefix: format!("{}.", unique("group")),
        session_timeout: std::time::Duration::from_secs(6),
        partitions: 3,
        replication: 1,
        publish_timeout: Duration::from_secs(10),
        metadata_timeout: Duration::from_secs(5),
        stats_interval: Duration::from_millis(500),
        drain_timeout: Duration::from_secs(5),
        retry: RetrySettings {
            max_retries: MAX_RETRIES,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..KafkaSettings::default()
    }
}

/// Closes the bus and deletes the topics (and their dead-letter topics).
pub async fn clean_up(bus: &KafkaEventBus, topics: &[&str]) {
    bus.close().await.unwrap();
    let mut all: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    all.extend(topics.iter().map(|t| format!("{t}.dlq")));
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    if let Err(error) = bus.delete_topics(&names).await {
        let _ = writeln!(std::io::stderr(), "could not delete test topics: {error}");
    }
}

/// Reads `count` messages of `topic` from the beginning, with a plain
/// librdkafka consumer (no group), within `within`.
pub async fn read_raw(
    brokers: &str,
    topic: &str,
    partitions: i32,
    count: usize,
    within: Duration,
) -> Vec<OwnedMessage> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("raw"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while messages.len() < count {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(message)) => messages.push(message.detach()),
            Ok(Err(error)) => panic!("reading {topic}: {error}"),
            Err(_) => panic!("only {} of {count} messages on {topic}", messages.len()),
        }
    }
    messages
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
