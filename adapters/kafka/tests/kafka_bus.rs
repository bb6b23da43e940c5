//! What the Kafka bus promises beyond the shared contract: the message on
//! the wire, dead-letter headers, topics required or created, the health
//! check, stopping with handlers in flight, and metrics.

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use platform_adapter_kafka::{KafkaBusError, KafkaEventBus, KafkaSettings};
use platform_contract::metrics::RecordedMetrics;
use platform_ports::BoxError;
use platform_ports::events::{BusError, Event, EventBus, EventHandler};
use platform_ports::health::{HealthChecker, HealthStatus};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::Metrics;
use platform_ports::model::{EventId, TenantId};
use rdkafka::message::{Headers, Message};
use tokio::sync::Notify;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn event(aggregate: &str) -> Event {
    Event::new(
        "blog.post.published",
        "blog",
        TenantId::DEFAULT,
        serde_json::json!({"title": "hello"}),
    )
    .with_aggregate(aggregate)
    .with_trace_parent(TRACEPARENT)
}

fn header<'m>(message: &'m impl Message, key: &str) -> Option<&'m str> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// Fails every attempt, counting them.
struct AlwaysFails(AtomicU32);

#[async_trait]
impl EventHandler for AlwaysFails {
    async fn handle(&self, _: &Event) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err("downstream refused".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_is_keyed_by_aggregate_with_the_envelope_and_headers() {
    let Some(brokers) = common::broker_or_skip("a_publish_is_keyed_by_aggregate_with_the_envelope_and_headers") else {
        return;
    };
    let bus = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    let topic = common::unique("wire");
    let sent = event("post-42");
    bus.publish(&topic, &sent).await.unwrap();

    let messages = common::read_raw(&brokers, &topic, 3, 1, Duration::from_secs(20)).await;
    let message = &messages[0];
    assert_eq!(message.key(), Some("post-42".as_bytes()));
    let decoded: Event = serde_json::from_slice(message.payload().unwrap()).unwrap();
    assert_eq!(decoded, sent);
    assert_eq!(header(message, "event-id"), Some(sent.id.to_string().as_str()));
    assert_eq!(header(message, "event-type"), Some("blog.post.published"));
    assert_eq!(header(message, "traceparent"), Some(TRACEPARENT));
    common::clean_up(&bus, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_carries_the_error_and_attempts_in_headers() {
    let Some(brokers) = common::broker_or_skip("a_dead_letter_carries_the_error_and_attempts_in_headers") else {
        return;
    };
    let bus = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    let topic = common::unique("dlq-headers");
    let handler = Arc::new(AlwaysFails(AtomicU32::new(0)));
    bus.subscribe(&topic, "failing", handler.clone()).await.unwrap();
    let sent = event("post-1");
    bus.publish(&topic, &sent).await.unwrap();

    let letters = common::read_raw(&brokers, &format!("{topic}.dlq"), 3, 1, Duration::from_secs(30)).await;
    let letter = &letters[0];
    assert_eq!(letter.key(), Some("post-1".as_bytes()));
    assert_eq!(header(letter, "event-id"), Some(sent.id.to_string().as_str()));
    assert_eq!(header(letter, "dlq-error"), Some("downstream refused"));
    assert_eq!(header(letter, "dlq-attempts"), Some("4"));
    assert_eq!(header(letter, "dlq-subscriber"), Some("failing"));
    assert_eq!(header(letter, "dlq-original-topic"), Some(topic.as_str()));
    assert_eq!(
        serde_json::from_slice::<Event>(letter.payload().unwrap()).unwrap(),
        sent
    );
    assert_eq!(handler.0.load(Ordering::SeqCst), common::MAX_RETRIES + 1);
    common::clean_up(&bus, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_at_start_up_or_required_to_exist() {
    let Some(brokers) = common::broker_or_skip("topics_are_created_at_start_up_or_required_to_exist") else {
        return;
    };
    let configured = common::unique("configured");
    let creating = KafkaEventBus::connect(
        KafkaSettings {
            topics: vec![configured.clone()],
            ..common::settings(&brokers)
        },
        None,
    )
    .unwrap();
    creating.start().await.unwrap();

    let missing = common::unique("missing");
    let strict_settings = KafkaSettings {
        create_topics: false,
        topics: vec![configured.clone()],
        ..common::settings(&brokers)
    };
    // The configured topic and its dead-letter topic now exist.
    let strict = KafkaEventBus::connect(strict_settings.clone(), None).unwrap();
    strict.start().await.unwrap();
    strict.publish(&configured, &event("a")).await.unwrap();

    let publish = strict.publish(&missing, &event("a")).await;
    let Err(BusError::Backend(source)) = publish else {
        panic!("publishing to a missing topic: {publish:?}");
    };
    assert!(
        matches!(source.downcast_ref::<KafkaBusError>(), Some(KafkaBusError::MissingTopics(t)) if t.as_slice() == std::slice::from_ref(&missing))
    );
    assert!(
        strict
            .subscribe(&missing, "s", Arc::new(AlwaysFails(AtomicU32::new(0))))
            .await
            .is_err()
    );
    let refusing = KafkaEventBus::connect(
        KafkaSettings {
            topics: vec![missing.clone()],
            ..strict_settings
        },
        None,
    )
    .unwrap();
    let started = refusing.start().await;
    assert!(started.unwrap_err().to_string().contains(&missing));
    refusing.close().await.unwrap();
    strict.close().await.unwrap();
    common::clean_up(&creating, &[&configured]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_follows_the_broker_and_publishes_fail_without_one() {
    let Some(brokers) = common::broker_or_skip("the_health_check_follows_the_broker_and_publishes_fail_without_one")
    else {
        return;
    };
    let up = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    assert_eq!(up.health_checker().check().await.unwrap(), HealthStatus::Up);
    up.close().await.unwrap();

    let nowhere = format!("127.0.0.1:{}", common::free_port());
    let metrics = Arc::new(RecordedMetrics::new());
    let down = KafkaEventBus::connect(
        KafkaSettings {
            metadata_timeout: Duration::from_millis(500),
            publish_timeout: Duration::from_secs(1),
            ..common::settings(&nowhere)
        },
        Some(&*metrics),
    )
    .unwrap();
    assert!(down.health_checker().check().await.is_err());
    // Start-up goes on without a broker; publishing fails (the outbox keeps the event).
    down.start().await.unwrap();
    assert!(matches!(
        down.publish("anything", &event("a")).await,
        Err(BusError::Backend(_))
    ));
    let text = metrics.render().unwrap();
    assert!(
        text.contains("event_bus_publish_failures_total{messaging_destination_name=\"anything\""),
        "{text}"
    );
    down.close().await.unwrap();
}

/// Signals when it starts, then takes its time.
struct Slow {
    started: Notify,
    finished: AtomicU32,
}

#[async_trait]
impl EventHandler for Slow {
    async fn handle(&self, _: &Event) -> Result<(), BoxError> {
        self.started.notify_one();
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_finishes_the_handler_in_flight_and_commits_it() {
    let Some(brokers) = common::broker_or_skip("stopping_finishes_the_handler_in_flight_and_commits_it") else {
        return;
    };
    let settings = common::settings(&brokers);
    let metrics = Arc::new(RecordedMetrics::new());
    let bus = KafkaEventBus::connect(settings.clone(), Some(&*metrics)).unwrap();
    let topic = common::unique("stop");
    let slow = Arc::new(Slow {
        started: Notify::new(),
        finished: AtomicU32::new(0),
    });
    bus.subscribe(&topic, "slow", slow.clone()).await.unwrap();
    bus.publish(&topic, &event("a")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), slow.started.notified())
        .await
        .unwrap();
    bus.stop().await.unwrap();
    assert_eq!(
        slow.finished.load(Ordering::SeqCst),
        1,
        "stop returned before the handler finished"
    );
    assert!(matches!(bus.publish(&topic, &event("a")).await, Err(BusError::Closed)));
    let text = metrics.render().unwrap();
    assert!(
        text.contains(&format!(
            "event_bus_published_total{{messaging_destination_name=\"{topic}\""
        )),
        "{text}"
    );

    // The same group on a new bus: the handled event is not delivered again.
    let metrics = Arc::new(RecordedMetrics::new());
    let again = KafkaEventBus::connect(settings, Some(&*metrics)).unwrap();
    let counter = Arc::new(AlwaysFails(AtomicU32::new(0)));
    again.subscribe(&topic, "slow", counter.clone()).await.unwrap();
    // Same aggregate, same partition: a redelivered first event would come first.
    let marker = event("a");
    again.publish(&topic, &marker).await.unwrap();
    // The marker arrives (and fails into the dead-letter topic); the first event does not.
    let letters = common::read_raw(&brokers, &format!("{topic}.dlq"), 3, 1, Duration::from_secs(30)).await;
    assert_eq!(
        serde_json::from_slice::<Event>(letters[0].payload().unwrap())
            .unwrap()
            .id,
        marker.id
    );
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        common::MAX_RETRIES + 1,
        "the committed event came back"
    );
    let text = metrics.render().unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("event_bus_dead_lettered_total{")
            && l.contains(topic.as_str())
            && l.ends_with("} 1")),
        "{text}"
    );
    // Both events are committed: librdkafka's statistics report no lag.
    let caught_up = |text: &str| {
        text.lines()
            .any(|l| l.starts_with("event_bus_consumer_lag{") && l.contains(topic.as_str()) && l.ends_with("} 0"))
    };
    let started = std::time::Instant::now();
    while !caught_up(&metrics.render().unwrap()) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            metrics.render().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    common::clean_up(&again, &[&topic]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_lands_in_order_per_aggregate_and_stops_an_aggregate_at_its_first_failure() {
    const TEST: &str = "a_batch_lands_in_order_per_aggregate_and_stops_an_aggregate_at_its_first_failure";
    let Some(brokers) = common::broker_or_skip(TEST) else {
        return;
    };
    let bus = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    let topic = common::unique("batch");
    // 300 events over 5 aggregates, all in flight at once; the 101st (of
    // agg-0) is larger than librdkafka's `message.max.bytes`, so it fails
    // to enqueue: agg-0's later events must not be sent at all.
    let mut events: Vec<Event> = (0..300).map(|i| event(&format!("agg-{}", i % 5))).collect();
    events[100].data = serde_json::json!({ "blob": "x".repeat(2_000_000) });
    let batch: Vec<(&str, &Event)> = events.iter().map(|e| (topic.as_str(), e)).collect();
    let outcomes = bus.publish_batch(&batch).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        let failed_aggregate = i % 5 == 0 && i >= 100;
        assert_eq!(outcome.is_err(), failed_aggregate, "event {i}: {outcome:?}");
    }
    // A later publish of agg-0 lands right after its last acknowledged event.
    let after = event("agg-0");
    bus.publish(&topic, &after).await.unwrap();

    let sent = 300 - 40 + 1;
    let messages = common::read_raw(&brokers, &topic, 3, sent, Duration::from_secs(30)).await;
    let ids_of = |aggregate: &str| -> Vec<EventId> {
        messages
            .iter()
            .filter(|m| m.key() == Some(aggregate.as_bytes()))
            .map(|m| serde_json::from_slice::<Event>(m.payload().unwrap()).unwrap().id)
            .collect()
    };
    for a in 0..5 {
        let aggregate = format!("agg-{a}");
        let mut expected: Vec<EventId> = events
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 == a && !(a == 0 && *i >= 100))
            .map(|(_, e)| e.id)
            .collect();
        if a == 0 {
            expected.push(after.id);
        }
        assert_eq!(ids_of(&aggregate), expected, "{aggregate}");
    }
    common::clean_up(&bus, &[&topic]).await;
}
