//! [`KafkaEventBus`]: the `EventBus` port on Kafka, and its lifecycle.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::events::{BusError, EventBus, EventHandler, SubscriptionId};
use platform_ports::events::{DeadLetter, Event};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::Metrics;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use tracing::Instrument as _;

use crate::consumer::Subscription;
use crate::context::KafkaContext;
use crate::dead_letters::DeadLetters;
use crate::envelope;
use crate::error::KafkaBusError;
use crate::health::KafkaHealthChecker;
use crate::metrics::Instruments;
use crate::settings::KafkaSettings;
use crate::topics::{self, Topics, dead_letter_topic};

/// What the bus, its subscriptions and its health check share.
pub(crate) struct Shared {
    pub(crate) settings: KafkaSettings,
    pub(crate) producer: FutureProducer<KafkaContext>,
    pub(crate) topics: Topics,
    pub(crate) instruments: Option<Arc<Instruments>>,
    pub(crate) dead_letters: DeadLetters,
}

#[derive(Default)]
struct BusState {
    closed: AtomicBool,
    next_id: AtomicU64,
    subscriptions: Mutex<HashMap<SubscriptionId, Subscription>>,
}

/// Publish/subscribe on Kafka.
///
/// `publish` returns once the broker acknowledged the event (`acks=all`,
/// idempotent producer), keyed by its aggregate id so one aggregate's events
/// keep their order in one partition. `subscribe` starts a consumer in the
/// group `<group_id_prefix><subscriber>`; see [`crate`] for delivery,
/// retries and dead letters. Clones share the producer and subscriptions
/// (one can go to the lifecycle, one to the container).
#[derive(Clone)]
pub struct KafkaEventBus {
    shared: Arc<Shared>,
    state: Arc<BusState>,
}

fn backend(error: KafkaBusError) -> BusError {
    BusError::Backend(Box::new(error))
}

impl KafkaEventBus {
    /// A bus for `settings`, reporting to `metrics` when given. Nothing is
    /// sent yet: librdkafka connects in the background, and topics are
    /// checked by [`BackgroundService::start`] and on first use.
    ///
    /// # Errors
    /// [`KafkaBusError::Settings`] naming the bad key, or
    /// [`KafkaBusError::Client`] when librdkafka refuses the configuration.
    pub fn connect(settings: KafkaSettings, metrics: Option<&dyn Metrics>) -> Result<Self, KafkaBusError> {
        settings.validate()?;
        let instruments = metrics.map(|m| Arc::new(Instruments::new(m)));
        let context = KafkaContext {
            instruments: instruments.clone(),
            ..KafkaContext::default()
        };
        let producer = settings
            .producer_config()
            .create_with_context(context)
            .map_err(KafkaBusError::Client)?;
        let topics = Topics::new(&settings)?;
        let dead_letters = DeadLetters::new(settings.dead_letter_capacity);
        Ok(Self {
            shared: Arc::new(Shared {
                settings,
                producer,
                topics,
                instruments,
                dead_letters,
            }),
            state: Arc::default(),
        })
    }

    /// The settings it runs with.
    #[must_use]
    pub fn settings(&self) -> &KafkaSettings {
        &self.shared.settings
    }

    /// Its health check: a broker answers metadata within `metadata_timeout`.
    #[must_use]
    pub fn health_checker(&self) -> KafkaHealthChecker {
        KafkaHealthChecker::new(self.shared.clone())
    }

    /// Makes sure the configured topics and their `.dlq` topics exist
    /// (created when missing and `create_topics` is on).
    ///
    /// # Errors
    /// [`KafkaBusError::Unreachable`], [`KafkaBusError::MissingTopics`],
    /// [`KafkaBusError::CreateTopic`].
    pub async fn ensure_topics(&self) -> Result<(), KafkaBusError> {
        let all: Vec<String> = self
            .shared
            .settings
            .topics
            .iter()
            .flat_map(|t| [t.clone(), dead_letter_topic(t)])
            .collect();
        self.shared.topics.ensure(&all).await
    }

    /// Deletes topics (with their data): for tests and tooling that clean up.
    ///
    /// # Errors
    /// [`KafkaBusError::Admin`].
    pub async fn delete_topics(&self, topics: &[&str]) -> Result<(), KafkaBusError> {
        self.shared.topics.delete(topics).await
    }

    /// Stops every subscription (handlers in progress finish, offsets are
    /// committed), then waits for unacknowledged publishes up to the publish
    /// timeout. Later publishes and subscriptions fail with `Closed`.
    ///
    /// # Errors
    /// [`KafkaBusError::Publish`] when messages were still unacknowledged.
    pub async fn close(&self) -> Result<(), KafkaBusError> {
        self.state.closed.store(true, Ordering::SeqCst);
        let subscriptions: Vec<Subscription> = {
            let mut map = self.state.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
            map.drain().map(|(_, s)| s).collect()
        };
        futures::future::join_all(subscriptions.into_iter().map(Subscription::stop)).await;
        let shared = self.shared.clone();
        let timeout = shared.settings.publish_timeout;
        tokio::task::spawn_blocking(move || shared.producer.flush(timeout))
            .await
            .map_err(KafkaBusError::Blocking)?
            .map_err(|source| KafkaBusError::Publish {
                topic: "(flush)".to_owned(),
                source,
            })
    }

    fn ensure_open(&self) -> Result<(), BusError> {
        if self.state.closed.load(Ordering::SeqCst) {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }

    async fn send(&self, topic: &str, event: &Event) -> Result<(), KafkaBusError> {
        if !self.shared.topics.is_known(topic) {
            self.shared.topics.ensure(&[topic.to_owned()]).await?;
        }
        let (payload, headers) = envelope::encode(event).map_err(KafkaBusError::Encode)?;
        let key = envelope::key(event);
        let record = FutureRecord::to(topic).key(&key).payload(&payload).headers(headers);
        let timeout = Timeout::After(self.shared.settings.publish_timeout);
        match self.shared.producer.send(record, timeout).await {
            Ok(_) => Ok(()),
            Err((source, _)) => Err(KafkaBusError::Publish {
                topic: topic.to_owned(),
                source,
            }),
        }
    }
}

#[async_trait]
impl EventBus for KafkaEventBus {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        topics::validate(topic)?;
        self.ensure_open()?;
        let sent = self
            .send(topic, event)
            .instrument(envelope::publish_span(topic, event))
            .await;
        if let Some(instruments) = &self.shared.instruments {
            match &sent {
                Ok(()) => instruments.published(topic),
                Err(_) => instruments.failed(topic),
            }
        }
        sent.map_err(backend)
    }

    async fn subscribe(
        &self,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        topics::validate(topic)?;
        self.ensure_open()?;
        // A missing topic that may not be created is a configuration error
        // to report now; unreachable brokers are waited out by the consumer.
        match self.shared.topics.ensure_with_dead_letters(topic).await {
            Ok(()) | Err(KafkaBusError::Unreachable { .. }) => {}
            Err(error) => return Err(backend(error)),
        }
        let subscription = Subscription::start(self.shared.clone(), topic, subscriber, handler).map_err(backend)?;
        let id = SubscriptionId(self.state.next_id.fetch_add(1, Ordering::Relaxed));
        // Checked under the lock: `close` sets the flag before draining the map.
        let refused = {
            let mut map = self.state.subscriptions.lock().unwrap_or_else(PoisonError::into_inner);
            if self.state.closed.load(Ordering::SeqCst) {
                Some(subscription)
            } else {
                map.insert(id, subscription);
                None
            }
        };
        if let Some(subscription) = refused {
            subscription.stop().await;
            return Err(BusError::Closed);
        }
        Ok(id)
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), BusError> {
        let subscription = self
            .state
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
            .ok_or(BusError::UnknownSubscription)?;
        subscription.stop().await;
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        Ok(self.shared.dead_letters.latest(limit))
    }
}

#[async_trait]
impl BackgroundService for KafkaEventBus {
    fn name(&self) -> &'static str {
        "kafka event bus"
    }

    async fn start(&self) -> Result<(), BoxError> {
        match self.ensure_topics().await {
            Ok(()) => Ok(()),
            // Start anyway: publishes fail (the outbox keeps the events),
            // consumers wait, and the health check reports the outage.
            Err(error @ KafkaBusError::Unreachable { .. }) => {
                tracing::warn!(%error, "Kafka unreachable at start-up; topics are checked again on first use");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn stop(&self) -> Result<(), BoxError> {
        self.close().await.map_err(Into::into)
    }
}
