//! Topic names, and making sure topics exist (created when missing, or
//! required to exist).

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use platform_ports::events::{BusError, MAX_TOPIC_LEN, validate_topic};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::KafkaBusError;
use crate::settings::KafkaSettings;

/// The suffix of a topic's dead-letter topic.
const DLQ_SUFFIX: &str = ".dlq";

/// Accepts Kafka's topic names whose dead-letter topic is a valid name too.
///
/// # Errors
/// [`BusError::InvalidTopic`].
pub(crate) fn validate(topic: &str) -> Result<(), BusError> {
    validate_topic(topic)?;
    if topic.len() + DLQ_SUFFIX.len() > MAX_TOPIC_LEN {
        return Err(BusError::InvalidTopic(topic.to_owned()));
    }
    Ok(())
}

/// Where the events of `topic` go when every retry failed.
pub(crate) fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}{DLQ_SUFFIX}")
}

/// Topics known to exist, and the admin client that checks or creates the others.
pub(crate) struct Topics {
    admin: Arc<AdminClient<DefaultClientContext>>,
    brokers: String,
    create: bool,
    partitions: i32,
    replication: i32,
    /// Bounds admin requests (creating topics).
    timeout: Duration,
    /// Bounds metadata requests.
    metadata_timeout: Duration,
    known: RwLock<HashSet<String>>,
}

impl Topics {
    /// An admin client for `settings` (it connects on first use).
    pub(crate) fn new(settings: &KafkaSettings) -> Result<Self, KafkaBusError> {
        let admin = settings.base_config().create().map_err(KafkaBusError::Client)?;
        Ok(Self {
            admin: Arc::new(admin),
            brokers: settings.brokers.clone(),
            create: settings.create_topics,
            partitions: settings.partitions,
            replication: settings.replication,
            timeout: settings.publish_timeout,
            metadata_timeout: settings.metadata_timeout,
            known: RwLock::default(),
        })
    }

    /// Whether `topic` was seen to exist (or created) by this bus.
    pub(crate) fn is_known(&self, topic: &str) -> bool {
        self.known
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(topic)
    }

    /// Makes sure `topic` and its dead-letter topic exist.
    pub(crate) async fn ensure_with_dead_letters(&self, topic: &str) -> Result<(), KafkaBusError> {
        self.ensure(&[topic.to_owned(), dead_letter_topic(topic)]).await
    }

    /// Makes sure every topic in `topics` exists: those missing are created
    /// (with the configured partitions and replication) or, when creating is
    /// off, reported.
    ///
    /// # Errors
    /// [`KafkaBusError::Unreachable`] when no broker answers within the
    /// timeout, [`KafkaBusError::MissingTopics`], [`KafkaBusError::CreateTopic`].
    pub(crate) async fn ensure(&self, topics: &[String]) -> Result<(), KafkaBusError> {
        let wanted: Vec<&String> = topics.iter().filter(|t| !self.is_known(t)).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let existing = self.existing(self.metadata_timeout).await?;
        let missing: Vec<&String> = wanted.iter().copied().filter(|t| !existing.contains(*t)).collect();
        if !missing.is_empty() {
            if !self.create {
                return Err(KafkaBusError::MissingTopics(missing.into_iter().cloned().collect()));
            }
            self.create(&missing).await?;
        }
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        known.extend(wanted.into_iter().cloned());
        Ok(())
    }

    /// Names of the cluster's topics, from broker metadata fetched within `timeout`.
    ///
    /// # Errors
    /// [`KafkaBusError::Unreachable`].
    pub(crate) async fn existing(&self, timeout: Duration) -> Result<HashSet<String>, KafkaBusError> {
        // librdkafka's metadata call blocks its thread until answered or timed out.
        let admin = Arc::clone(&self.admin);
        let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout))
            .await
            .map_err(KafkaBusError::Blocking)?
            .map_err(|source| KafkaBusError::Unreachable {
                brokers: self.brokers.clone(),
                source,
            })?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| t.name().to_owned())
            .collect())
    }

    async fn create(&self, missing: &[&String]) -> Result<(), KafkaBusError> {
        let new: Vec<NewTopic<'_>> = missing
            .iter()
            .map(|name| NewTopic::new(name, self.partitions, TopicReplication::Fixed(self.replication)))
            .collect();
        let options = AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout));
        let results = self
            .admin
            .create_topics(&new, &options)
            .await
            .map_err(KafkaBusError::Admin)?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(
                    topic = %name, partitions = self.partitions, replication = self.replication,
                    "created Kafka topic"
                ),
                // Another instance created it first.
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(KafkaBusError::CreateTopic {
                        topic,
                        reason: code.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Deletes topics (tests clean up with it).
    ///
    /// # Errors
    /// [`KafkaBusError::Admin`].
    pub(crate) async fn delete(&self, topics: &[&str]) -> Result<(), KafkaBusError> {
        let options = AdminOptions::new().request_timeout(Some(self.timeout));
        self.admin
            .delete_topics(topics, &options)
            .await
            .map_err(KafkaBusError::Admin)?;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        for topic in topics {
            known.remove(*topic);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{dead_letter_topic, validate};

    #[test]
    fn topic_names_follow_kafka_and_leave_room_for_the_dead_letter_suffix() {
        for good in ["platform.identity", "blog_posts-v2", "a"] {
            assert!(validate(good).is_ok(), "{good}");
        }
        let longest = "t".repeat(245);
        assert!(validate(&longest).is_ok());
        for bad in ["", ".", "..", "has space", "slash/ed", "ünï", &"t".repeat(246)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(dead_letter_topic("platform.identity"), "platform.identity.dlq");
    }
}
