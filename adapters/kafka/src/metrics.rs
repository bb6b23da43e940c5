//! The bus's instruments: events published, failed and dead-lettered per
//! topic, and consumer lag per partition.

use std::sync::Arc;

use platform_ports::metrics::{Counter, Gauge, Label, Metrics};

const TOPIC: &str = "messaging.destination.name";
const PARTITION: &str = "messaging.destination.partition.id";
const GROUP: &str = "messaging.consumer.group.name";

/// Instruments created once from the `Metrics` port.
pub(crate) struct Instruments {
    published: Arc<dyn Counter>,
    failed: Arc<dyn Counter>,
    dead_lettered: Arc<dyn Counter>,
    lag: Arc<dyn Gauge>,
}

impl Instruments {
    pub(crate) fn new(metrics: &dyn Metrics) -> Self {
        Self {
            published: metrics.counter(
                "event_bus.published",
                "Events the broker acknowledged, by topic.",
                "{event}",
            ),
            failed: metrics.counter(
                "event_bus.publish_failures",
                "Publishes the broker did not acknowledge, by topic.",
                "{event}",
            ),
            dead_lettered: metrics.counter(
                "event_bus.dead_lettered",
                "Events moved to the dead-letter topic after every retry failed, by topic and subscriber.",
                "{event}",
            ),
            lag: metrics.gauge(
                "event_bus.consumer.lag",
                "Messages between a consumer group's position and the partition's end.",
                "{message}",
            ),
        }
    }

    pub(crate) fn published(&self, topic: &str) {
        self.published.add(1, &[Label::new(TOPIC, topic.to_owned())]);
    }

    pub(crate) fn failed(&self, topic: &str) {
        self.failed.add(1, &[Label::new(TOPIC, topic.to_owned())]);
    }

    pub(crate) fn dead_lettered(&self, topic: &str, group: &str) {
        self.dead_lettered.add(
            1,
            &[Label::new(TOPIC, topic.to_owned()), Label::new(GROUP, group.to_owned())],
        );
    }

    #[allow(
        clippy::cast_precision_loss,
        reason = "a lag beyond 2^53 messages is not a real case"
    )]
    pub(crate) fn lag(&self, topic: &str, partition: i32, group: &str, lag: i64) {
        self.lag.record(
            lag as f64,
            &[
                Label::new(TOPIC, topic.to_owned()),
                Label::new(PARTITION, i64::from(partition)),
                Label::new(GROUP, group.to_owned()),
            ],
        );
    }
}
