//! What librdkafka calls back into: its log lines go to `tracing`, its
//! statistics become the consumer-lag gauge, and a consumer's revoked
//! partitions stop their workers.

use std::sync::Arc;

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::consumer::Workers;
use crate::metrics::Instruments;

/// The context of every client the bus creates.
#[derive(Clone, Default)]
pub(crate) struct KafkaContext {
    /// Where lag goes, when metrics are exported.
    pub(crate) instruments: Option<Arc<Instruments>>,
    /// The consumer group (consumers only).
    pub(crate) group: Option<String>,
    /// The consumer's partition workers (consumers only).
    pub(crate) workers: Option<Arc<Workers>>,
}

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(facility, "librdkafka: {message}");
            }
            RDKafkaLogLevel::Warning => tracing::warn!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Debug => tracing::debug!(facility, "librdkafka: {message}"),
        }
    }

    fn stats(&self, statistics: Statistics) {
        let (Some(instruments), Some(group)) = (&self.instruments, &self.group) else {
            return;
        };
        for (name, topic) in &statistics.topics {
            for partition in topic.partitions.values() {
                // Partition -1 is librdkafka's internal "unassigned" queue;
                // a lag of -1 means not known yet.
                if partition.partition >= 0 && partition.consumer_lag >= 0 {
                    instruments.lag(name, partition.partition, group, partition.consumer_lag);
                }
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Mostly transient (a broker restarting, all brokers down for a
        // while): librdkafka reconnects by itself; health checks report it.
        tracing::warn!(%error, reason, "Kafka client error");
    }
}

impl ConsumerContext for KafkaContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                tracing::debug!(group = ?self.group, revoked = partitions.count(), "partitions revoked");
                if let Some(workers) = &self.workers {
                    workers.revoke(partitions.elements().iter().map(|e| e.partition()));
                }
            }
            Rebalance::Assign(partitions) => {
                tracing::debug!(group = ?self.group, assigned = partitions.count(), "partitions assigned");
            }
            Rebalance::Error(error) => tracing::warn!(group = ?self.group, %error, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::trace!(group = ?self.group, partitions = offsets.count(), "offsets committed"),
            // Nothing new was stored since the last commit.
            Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => {
                tracing::warn!(group = ?self.group, %error, "committing offsets failed; retried with the next commit")
            }
        }
    }
}
