//! The event bus (the seed's `EventBus`) and its handlers.

use std::sync::Arc;

use async_trait::async_trait;
use shaku::Interface;

use crate::BoxError;
use crate::events::{DeadLetter, Event};

/// What the bus can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The topic name is not acceptable to the bus.
    #[error("invalid topic `{0}`")]
    InvalidTopic(String),
    /// No subscription has this id.
    #[error("unknown subscription")]
    UnknownSubscription,
    /// The bus is shut down.
    #[error("event bus is closed")]
    Closed,
    /// The backend failed.
    #[error("event bus backend failed")]
    Backend(#[source] BoxError),
}

/// The outcome of a batch's event held back because an earlier event of its
/// aggregate failed (see [`EventBus::publish_batch`]).
#[must_use]
pub fn held_back(aggregate: &str) -> BusError {
    BusError::Backend(format!("not published: an earlier event of aggregate `{aggregate}` failed").into())
}

/// Identifies a subscription, for [`EventBus::unsubscribe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionId(pub u64);

/// Handles events of a topic. Handlers must be idempotent by event id:
/// delivery is at least once.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event; an error makes the bus retry with backoff.
    ///
    /// # Errors
    /// Any error: the bus retries, then dead-letters the event.
    async fn handle(&self, event: &Event) -> Result<(), BoxError>;
}

/// Publish/subscribe by topic (in-process in development, Kafka in production).
///
/// Events of one topic reach each subscriber in publish order (per
/// partition / aggregate on Kafka). Delivery happens off the publisher's path.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait EventBus: Interface {
    /// Publishes an event to a topic.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`], [`BusError::Closed`], [`BusError::Backend`].
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError>;

    /// Publishes `batch` (topic, event) and returns one outcome per event,
    /// in batch order.
    ///
    /// Events of one aggregate land in batch order, and one counts as
    /// published only when every earlier event of its aggregate in the batch
    /// did: once one fails, the later ones of that aggregate fail too
    /// (whether or not the bus still handed them over), so a caller that
    /// retries from the first failure keeps the aggregate's order. Events of
    /// different aggregates are independent. The default publishes one event
    /// after another; a bus that can keep many in flight overrides it.
    ///
    /// # Errors
    /// Per event, as [`EventBus::publish`].
    async fn publish_batch<'a>(&self, batch: &'a [(&'a str, &'a Event)]) -> Vec<Result<(), BusError>> {
        let mut failed: Vec<&str> = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (topic, event) in batch {
            let aggregate = event.aggregate_id.as_deref().filter(|a| !a.is_empty());
            let outcome = match aggregate {
                Some(aggregate) if failed.contains(&aggregate) => Err(held_back(aggregate)),
                _ => self.publish(topic, event).await,
            };
            if let (Err(_), Some(aggregate)) = (&outcome, aggregate) {
                failed.push(aggregate);
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Subscribes `handler` to `topic` under the name `subscriber` (the
    /// consumer group: instances sharing a name share the work).
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`], [`BusError::Closed`], [`BusError::Backend`].
    async fn subscribe(
        &self,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError>;

    /// Stops a subscription; events already being handled finish.
    ///
    /// # Errors
    /// [`BusError::UnknownSubscription`], [`BusError::Backend`].
    async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), BusError>;

    /// Events that exhausted their retries, most recent last (at most `limit`).
    ///
    /// # Errors
    /// [`BusError::Backend`].
    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError>;
}
