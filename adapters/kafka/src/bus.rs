//! [`KafkaEventBus`]: the `EventBus` port on Kafka, and its lifecycle.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::events::{BusError, EventBus, EventHandler, SubscriptionId, held_back};
use platform_ports::events::{DeadLetter, Event};
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::Metrics;
use rdkafka::error::KafkaError;
use rdkafka::producer::future_producer::OwnedDeliveryResult;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;

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
            .map(|t| self.shared.settings.broker_topic(t))
            .flat_map(|t| [dead_letter_topic(&t), t])
            .collect();
        self.shared.topics.ensure(&all).await
    }

    /// Deletes topics (with their data): for tests and tooling that clean up.
    ///
    /// # Errors
    /// [`KafkaBusError::Admin`].
    pub async fn delete_topics(&self, topics: &[&str]) -> Result<(), KafkaBusError> {
        let named: Vec<String> = topics.iter().map(|t| self.shared.settings.broker_topic(t)).collect();
        let named: Vec<&str> = named.iter().map(String::as_str).collect();
        self.shared.topics.delete(&named).await
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
        let deadline = Instant::now() + self.shared.settings.publish_timeout;
        let delivery = self.enqueue(topic, event, deadline).await?;
        acknowledged(topic, delivery.await)
    }

    /// Hands one event to the producer and returns the wait for its
    /// acknowledgement. While librdkafka's queue is full it waits (until
    /// `deadline`) for room; a batch enqueues one event at a time, so the
    /// later ones wait behind it and the order holds.
    async fn enqueue(&self, topic: &str, event: &Event, deadline: Instant) -> Result<DeliveryFuture, KafkaBusError> {
        // Encoded inside the event's publish span, so the `traceparent`
        // header names that span (the consumer hangs under it) and not
        // whatever the caller is in: the relay publishes many requests'
        // events from its own span. The span covers the hand-over; a batch
        // awaits its acknowledgements together afterwards.
        let span = envelope::publish_span(topic, event);
        let (payload, headers) = span
            .in_scope(|| envelope::encode(event))
            .map_err(KafkaBusError::Encode)?;
        let key = envelope::key(event);
        let mut record = FutureRecord::to(topic).key(&key).payload(&payload).headers(headers);
        loop {
            match self.shared.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    record = back;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((source, _)) => {
                    return Err(KafkaBusError::Publish {
                        topic: topic.to_owned(),
                        source,
                    });
                }
            }
        }
    }

    /// Makes sure the batch's topics exist before anything is enqueued
    /// (checking one awaits the broker, which must not happen between two
    /// events of an aggregate); returns why each unusable topic is.
    async fn batch_topics<'b>(&self, batch: &[(&'b str, &Event)]) -> HashMap<&'b str, String> {
        let mut unusable = HashMap::new();
        for &(topic, _) in batch {
            if unusable.contains_key(topic) || self.shared.topics.is_known(topic) {
                continue;
            }
            let checked = match topics::validate(topic) {
                Err(error) => Err(error.to_string()),
                Ok(()) => self
                    .shared
                    .topics
                    .ensure(&[topic.to_owned()])
                    .await
                    .map_err(|e| e.to_string()),
            };
            if let Err(reason) = checked {
                unusable.insert(topic, reason);
            }
        }
        unusable
    }

    /// The batch publish: every event is enqueued in batch order without
    /// waiting for the ones before it, then all acknowledgements are awaited.
    /// The idempotent producer keeps a partition's order (up to 5 requests
    /// in flight, retries included), and an aggregate is one key, one
    /// partition: its events land in batch order. An event that fails to
    /// enqueue stops its aggregate's later events from being enqueued.
    async fn send_batch(&self, batch: &[(&str, &Event)]) -> Vec<Result<(), BusError>> {
        if self.ensure_open().is_err() {
            return batch.iter().map(|_| Err(BusError::Closed)).collect();
        }
        let unusable = self.batch_topics(batch).await;
        let deadline = Instant::now() + self.shared.settings.publish_timeout;
        let mut failed: HashSet<&str> = HashSet::new();
        let mut pending: Vec<Result<DeliveryFuture, BusError>> = Vec::with_capacity(batch.len());
        for &(topic, event) in batch {
            let aggregate = aggregate_of(event);
            let enqueued = match (aggregate, unusable.get(topic)) {
                (Some(aggregate), _) if failed.contains(aggregate) => Err(held_back(aggregate)),
                (_, Some(reason)) => Err(BusError::Backend(reason.clone().into())),
                _ => self.enqueue(topic, event, deadline).await.map_err(backend),
            };
            if let (Err(_), Some(aggregate)) = (&enqueued, aggregate) {
                failed.insert(aggregate);
            }
            pending.push(enqueued);
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for (&(topic, _), enqueued) in batch.iter().zip(pending) {
            outcomes.push(match enqueued {
                Ok(delivery) => acknowledged(topic, delivery.await).map_err(backend),
                Err(error) => Err(error),
            });
        }
        // An acknowledgement after an earlier failure of its aggregate does
        // not count (see `EventBus::publish_batch`): the caller publishes it
        // again after the failed one.
        failed.clear();
        for (&(_, event), outcome) in batch.iter().zip(outcomes.iter_mut()) {
            let Some(aggregate) = aggregate_of(event) else { continue };
            if failed.contains(aggregate) {
                if outcome.is_ok() {
                    *outcome = Err(held_back(aggregate));
                }
            } else if outcome.is_err() {
                failed.insert(aggregate);
            }
        }
        outcomes
    }
}

/// How long an enqueue waits when librdkafka's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(10);

/// The event's aggregate, when it names one (its ordering key).
fn aggregate_of(event: &Event) -> Option<&str> {
    event.aggregate_id.as_deref().filter(|a| !a.is_empty())
}

/// What a delivery report says about one event.
fn acknowledged(
    topic: &str,
    report: Result<OwnedDeliveryResult, futures::channel::oneshot::Canceled>,
) -> Result<(), KafkaBusError> {
    match report {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((source, _))) => Err(KafkaBusError::Publish {
            topic: topic.to_owned(),
            source,
        }),
        // The producer went away with the event unacknowledged.
        Err(_) => Err(KafkaBusError::Publish {
            topic: topic.to_owned(),
            source: KafkaError::Canceled,
        }),
    }
}

#[async_trait]
impl EventBus for KafkaEventBus {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        topics::validate(topic)?;
        self.ensure_open()?;
        let topic = &self.shared.settings.broker_topic(topic);
        let sent = self.send(topic, event).await;
        if let Some(instruments) = &self.shared.instruments {
            match &sent {
                Ok(()) => instruments.published(topic),
                Err(_) => instruments.failed(topic),
            }
        }
        sent.map_err(backend)
    }

    async fn publish_batch<'a>(&self, batch: &'a [(&'a str, &'a Event)]) -> Vec<Result<(), BusError>> {
        let named: Vec<String> = batch
            .iter()
            .map(|(t, _)| self.shared.settings.broker_topic(t))
            .collect();
        let batch: Vec<(&str, &Event)> = named.iter().zip(batch).map(|(t, (_, e))| (t.as_str(), *e)).collect();
        let outcomes = self.send_batch(&batch).await;
        if let Some(instruments) = &self.shared.instruments {
            for (&(topic, _), outcome) in batch.iter().zip(&outcomes) {
                match outcome {
                    Ok(()) => instruments.published(topic),
                    Err(_) => instruments.failed(topic),
                }
            }
        }
        outcomes
    }

    async fn subscribe(
        &self,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        topics::validate(topic)?;
        self.ensure_open()?;
        let topic = &self.shared.settings.broker_topic(topic);
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
