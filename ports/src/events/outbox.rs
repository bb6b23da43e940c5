use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;

use crate::StoreError;
use crate::events::{Event, OutboxMessage};
use crate::model::OutboxId;
use crate::persistence::Transaction;

/// The transactional outbox: events are written inside the use case's
/// transaction, and a relay publishes them to the bus afterwards.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Outbox: Interface {
    /// Records an event for `topic` inside the unit of work.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the write fails (the use case must roll back).
    async fn enqueue(&self, tx: &mut Transaction, topic: &str, event: &Event) -> Result<(), StoreError>;

    /// Claims up to `limit` due messages for `lease`, oldest first (commit
    /// order). A claimed message is invisible to other relays until the lease
    /// ends, so several instances can relay at once without double-publishing.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>, StoreError>;

    /// Marks messages as published.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails (they are published again: at least once).
    async fn mark_sent(&self, ids: &[OutboxId]) -> Result<(), StoreError>;

    /// Records a failed attempt and when to try again.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn mark_failed(&self, id: OutboxId, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError>;

    /// How many messages wait to be published.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn pending(&self) -> Result<u64, StoreError>;

    /// Deletes published messages sent before `before` (kept until then for
    /// inspection); returns how many went. An outbox that forgets messages
    /// once sent has nothing to purge and returns 0.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn purge_sent(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
