//! The trace context across Kafka: an event stamped in a request's span is
//! published with the publish span's `traceparent` header, and the consumer
//! runs the handler inside a span that continues that header. A recording
//! propagator stands in for OpenTelemetry (its own test binary: the
//! propagator is process-wide).

// clippy's allow-unwrap-in-tests does not reach the helpers of a test binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use platform_adapter_kafka::KafkaEventBus;
use platform_ports::BoxError;
use platform_ports::events::{Event, EventBus, EventHandler};
use platform_ports::model::TenantId;
use platform_ports::testing::RecordingPropagator;
use rdkafka::message::{Headers, Message};
use tokio::sync::mpsc;

/// Reports the span each event is handled in.
struct SpanReporter(mpsc::UnboundedSender<Option<u64>>);

#[async_trait]
impl EventHandler for SpanReporter {
    async fn handle(&self, _: &Event) -> Result<(), BoxError> {
        let _ = self.0.send(tracing::Span::current().id().map(|id| id.into_u64()));
        Ok(())
    }
}

fn header<'m>(message: &'m impl Message, key: &str) -> Option<&'m str> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value)
        .and_then(|v| std::str::from_utf8(v).ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publish_spans_traceparent_travels_in_a_header_to_the_consumers_span() {
    let Some(brokers) =
        common::broker_or_skip("the_publish_spans_traceparent_travels_in_a_header_to_the_consumers_span")
    else {
        return;
    };
    let recorder = RecordingPropagator::install();
    // Spans need a subscriber to have ids; this binary has no other test.
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).unwrap();

    let bus = KafkaEventBus::connect(common::settings(&brokers), None).unwrap();
    let topic = common::unique("traced");
    let (tx, mut handled) = mpsc::unbounded_channel();
    bus.subscribe(&topic, "traced", Arc::new(SpanReporter(tx)))
        .await
        .unwrap();

    let request = tracing::info_span!("request");
    let event =
        request.in_scope(|| Event::new("blog.post.published", "blog", TenantId::DEFAULT, serde_json::json!({})));
    assert_eq!(
        event.trace_parent,
        RecordingPropagator::traceparent_of(&request),
        "the event carries the span it was made in"
    );
    bus.publish(&topic, &event).await.unwrap();

    let handler_span = tokio::time::timeout(Duration::from_secs(60), handled.recv())
        .await
        .expect("the event was not handled within 60 s")
        .unwrap();
    let message = &common::read_raw(&brokers, &topic, 3, 1, Duration::from_secs(20)).await[0];
    let sent = header(message, "traceparent").expect("no traceparent header");
    // The header names the publish span, a child of the request's span.
    assert_ne!(Some(sent), event.trace_parent.as_deref());
    let adopted = recorder.adopted();
    assert!(
        adopted
            .iter()
            .any(|(span, traceparent)| traceparent == sent && *span == handler_span && span.is_some()),
        "the handler's span {handler_span:?} did not continue {sent}: {adopted:?}"
    );
    common::clean_up(&bus, &[&topic]).await;
}
