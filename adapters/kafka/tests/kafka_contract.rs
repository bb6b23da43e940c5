//! Runs the event-bus contract on Kafka (each check on topics of its own).

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use platform_adapter_kafka::KafkaEventBus;
use platform_contract::events;

/// A bus on the test broker and a fresh topic, or `None` after a loud skip.
fn bus(test: &str) -> Option<(KafkaEventBus, String)> {
    let brokers = common::broker_or_skip(test)?;
    let bus = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    Some((bus, common::unique(test)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_keeps_order_per_key() {
    let Some((bus, topic)) = bus("bus_keeps_order_per_key") else {
        return;
    };
    events::bus_keeps_order_per_key(Arc::new(bus.clone()), &topic).await;
    common::clean_up(&bus, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_redelivers_after_a_handler_error() {
    let Some((bus, topic)) = bus("bus_redelivers_after_a_handler_error") else {
        return;
    };
    events::bus_redelivers_after_a_handler_error(Arc::new(bus.clone()), &topic).await;
    common::clean_up(&bus, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_dead_letters_after_the_last_retry() {
    let Some((bus, topic)) = bus("bus_dead_letters_after_the_last_retry") else {
        return;
    };
    events::bus_dead_letters_after_the_last_retry(Arc::new(bus.clone()), &topic, common::MAX_RETRIES).await;
    common::clean_up(&bus, &[&topic]).await;
}

// The restart check needs a unit of work and a processed-events record; it
// runs in platform-tests (tests/tests/kafka_restart.rs), where adapters may
// be combined.
