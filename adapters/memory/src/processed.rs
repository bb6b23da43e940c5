//! The processed-events record: which events each subscriber has handled.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use im::HashMap;
use platform_ports::StoreError;
use platform_ports::events::ProcessedEvents;
use platform_ports::model::EventId;
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// When each (subscriber, event) pair was recorded.
#[derive(Clone, Default)]
pub(crate) struct ProcessedTable {
    rows: HashMap<(Arc<str>, EventId), DateTime<Utc>>,
}

impl ProcessedTable {
    /// Records the pair; `false` when it was already there.
    fn insert(&mut self, subscriber: &str, event_id: EventId, now: DateTime<Utc>) -> bool {
        let key = (Arc::from(subscriber), event_id);
        if self.rows.contains_key(&key) {
            return false;
        }
        self.rows.insert(key, now);
        true
    }

    fn contains(&self, subscriber: &str, event_id: EventId) -> bool {
        self.rows.contains_key(&(Arc::from(subscriber), event_id))
    }

    fn purge(&mut self, before: DateTime<Utc>) -> u64 {
        let before_len = self.rows.len();
        self.rows.retain(|_, at| *at >= before);
        (before_len - self.rows.len()) as u64
    }
}

/// [`ProcessedEvents`] over a [`MemoryStore`]: the record is a table of the
/// store, so it commits (or rolls back) with the handler's other writes.
/// Units of work on one store run one at a time, so a concurrent duplicate
/// sees the first one's committed record.
#[derive(Component)]
#[shaku(interface = ProcessedEvents)]
pub struct MemoryProcessedEvents {
    store: Arc<MemoryStore>,
}

impl MemoryProcessedEvents {
    /// A record over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryProcessedEvents>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryProcessedEventsParameters {
        MemoryProcessedEventsParameters { store }
    }
}

impl fmt::Debug for MemoryProcessedEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryProcessedEvents").finish_non_exhaustive()
    }
}

#[async_trait]
impl ProcessedEvents for MemoryProcessedEvents {
    async fn mark_processed(
        &self,
        tx: &mut Transaction,
        subscriber: &str,
        event_id: EventId,
    ) -> Result<bool, StoreError> {
        let now = Utc::now();
        MemoryTx::of(tx, &self.store)?.write(|tables| Ok(tables.processed.insert(subscriber, event_id, now)))
    }

    async fn is_processed(&self, subscriber: &str, event_id: EventId) -> Result<bool, StoreError> {
        Ok(self.store.snapshot().tables.processed.contains(subscriber, event_id))
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store
            .update_tables(|tables| Ok(tables.processed.purge(before)))
            .await
    }
}
