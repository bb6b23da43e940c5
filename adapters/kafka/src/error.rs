//! What the Kafka bus fails with, behind the port's `BusError::Backend`.

use rdkafka::error::KafkaError;

use crate::settings::KafkaSettingsError;

/// A failure of the Kafka bus; the port sees it as `BusError::Backend`.
#[derive(Debug, thiserror::Error)]
pub enum KafkaBusError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] KafkaSettingsError),
    /// librdkafka refused to build a client from the settings.
    #[error("the Kafka client could not be created")]
    Client(#[source] KafkaError),
    /// No broker answered a metadata request in time.
    #[error("no Kafka broker answered at {brokers}")]
    Unreachable {
        /// The configured bootstrap brokers.
        brokers: String,
        /// What librdkafka reported.
        #[source]
        source: KafkaError,
    },
    /// Topics do not exist and `kafka.create_topics` is false.
    #[error("Kafka topics missing (kafka.create_topics is false): {}", .0.join(", "))]
    MissingTopics(Vec<String>),
    /// The broker refused to create a topic.
    #[error("creating Kafka topic `{topic}` failed: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's error code.
        reason: String,
    },
    /// An admin request failed as a whole.
    #[error("Kafka admin request failed")]
    Admin(#[source] KafkaError),
    /// The event could not be serialised.
    #[error("the event could not be encoded as JSON")]
    Encode(#[source] serde_json::Error),
    /// The broker did not acknowledge the message.
    #[error("publishing to Kafka topic `{topic}` failed")]
    Publish {
        /// The topic.
        topic: String,
        /// What librdkafka reported.
        #[source]
        source: KafkaError,
    },
    /// The blocking call could not run on the runtime's pool.
    #[error("a blocking Kafka call could not run")]
    Blocking(#[source] tokio::task::JoinError),
}
