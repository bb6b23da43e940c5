//! Which events each subscriber has already handled (idempotent consumers).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

use crate::StoreError;
use crate::model::EventId;
use crate::persistence::Transaction;

/// The processed-events record: delivery is at least once, so a subscriber
/// records each event id in the same unit of work as the event's effect.
/// A redelivered event then finds its record and is skipped, and a failed
/// handler rolls back its record with its effect: the effect happens once.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ProcessedEvents: Interface {
    /// Records, inside the unit of work, that `subscriber` handled
    /// `event_id`. Returns `true` when the record is new (go on with the
    /// effect) and `false` when a committed unit of work already holds it
    /// (skip). A concurrent unit of work recording the same pair waits for
    /// this one to finish and then sees the outcome.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the write fails (the handler must fail so
    /// the bus redelivers).
    async fn mark_processed(
        &self,
        tx: &mut Transaction,
        subscriber: &str,
        event_id: EventId,
    ) -> Result<bool, StoreError>;

    /// Whether a committed unit of work recorded `event_id` for `subscriber`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn is_processed(&self, subscriber: &str, event_id: EventId) -> Result<bool, StoreError>;

    /// Forgets records made before `before` (older than any redelivery the
    /// broker could still make); returns how many.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
