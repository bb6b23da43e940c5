//! The raw-producer baseline shared by the Kafka benchmarks (this crate's
//! `publish` and the relay bench in `platform-tests`, which includes it by path).

use std::time::{Duration, Instant};

use futures::StreamExt;
use platform_ports::events::Event;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

/// The raw producer: what `KafkaEventBus` sends, without the bus around it.
pub async fn raw_publish(producer: &FutureProducer, topic: &str, events: &[Event], window: usize) -> Duration {
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
