//! The event-bus contract's restart check on Kafka: it needs a unit of work
//! and a processed-events record besides the bus, so it runs here, where
//! adapters are combined (the in-memory ones serve as the effect store).
//! The rest of the contract runs in `adapters/kafka/tests`.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use platform_adapter_kafka::{KafkaEventBus, KafkaSettings, RetrySettings};
use platform_adapter_memory::{MemoryAuditStore, MemoryProcessedEvents, MemoryStore, MemoryUnitOfWork};
use platform_contract::events::{self, EffectStore};

/// The test broker, or `None` after a loud skip (a failure under `CI=true`).
fn broker_or_skip(test: &str) -> Option<String> {
    let brokers = std::env::var("PLATFORM_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let reachable = brokers
        .split(',')
        .next()
        .and_then(|b| b.trim().to_socket_addrs().ok())
        .into_iter()
        .flatten()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    if reachable {
        return Some(brokers);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true and Kafka is not reachable at {brokers} for {test}");
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: {test}: Kafka not reachable at {brokers} (start it with .ci/services/kafka.sh) ***\n"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_bus_loses_nothing_across_a_consumer_restart() {
    let Some(brokers) = broker_or_skip("kafka_bus_loses_nothing_across_a_consumer_restart") else {
        return;
    };
    let run = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    );
    let settings = KafkaSettings {
        brokers: brokers.clone(),
        client_id: "platform-tests".to_owned(),
        group_id_prefix: format!("test.group.{run}."),
        // The broker's first group join otherwise waits ~20 s.
        session_timeout: Duration::from_secs(6),
        partitions: 3,
        replication: 1,
        publish_timeout: Duration::from_secs(10),
        metadata_timeout: Duration::from_secs(5),
        drain_timeout: Duration::from_secs(5),
        retry: RetrySettings {
            max_retries: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..KafkaSettings::default()
    };
    let bus = KafkaEventBus::connect(settings, None).unwrap();
    let topic = format!("test.restart.{run}");
    let store = Arc::new(MemoryStore::new());
    let effects = EffectStore {
        uow: Arc::new(MemoryUnitOfWork::new(store.clone())),
        processed: Arc::new(MemoryProcessedEvents::new(store.clone())),
        audit: Arc::new(MemoryAuditStore::new(store)),
    };
    events::bus_loses_nothing_across_a_consumer_restart(Arc::new(bus.clone()), &topic, effects).await;
    bus.close().await.unwrap();
    let dlq = format!("{topic}.dlq");
    if let Err(error) = bus.delete_topics(&[&topic, &dlq]).await {
        let _ = writeln!(std::io::stderr(), "could not delete test topics: {error}");
    }
}
