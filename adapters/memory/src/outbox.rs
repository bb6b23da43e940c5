//! The transactional outbox: events enter with their unit of work's commit
//! and leave when the relay marks them sent.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use im::{HashMap, OrdMap};
use platform_ports::StoreError;
use platform_ports::events::Outbox;
use platform_ports::events::{Event, OutboxMessage};
use platform_ports::model::OutboxId;
use platform_ports::persistence::Transaction;
use shaku::Component;

use crate::store::{MemoryStore, MemoryTx};

/// One unsent message and its delivery state.
#[derive(Clone)]
struct Row {
    message: OutboxMessage,
    /// A relay holds it until then.
    leased_until: Option<DateTime<Utc>>,
    /// A failed attempt waits until then.
    retry_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl Row {
    /// Leased to a relay or waiting for its retry time.
    fn is_busy(&self, now: DateTime<Utc>) -> bool {
        self.leased_until.is_some_and(|until| until > now) || self.retry_at.is_some_and(|at| at > now)
    }
}

/// Unsent messages in commit order.
#[derive(Clone, Default)]
pub(crate) struct OutboxQueue {
    /// Keyed by a sequence number given at commit, so iteration is commit order.
    rows: OrdMap<u64, Row>,
    by_id: HashMap<OutboxId, u64>,
    next_seq: u64,
}

impl OutboxQueue {
    /// How many messages wait to be sent.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Appends a committed message after every earlier one.
    pub(crate) fn push(&mut self, message: OutboxMessage) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert(message.id, seq);
        self.rows.insert(
            seq,
            Row {
                message,
                leased_until: None,
                retry_at: None,
                last_error: None,
            },
        );
    }

    /// Leases up to `limit` due messages until `lease_until`, oldest first.
    ///
    /// A message is held back while an older message of its aggregate is
    /// busy, so the relay never publishes an aggregate's events out of order.
    fn claim(&mut self, limit: usize, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Vec<OutboxMessage> {
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut due = Vec::new();
        for (seq, row) in &self.rows {
            if due.len() >= limit {
                break;
            }
            let aggregate = row.message.event.aggregate_id.as_deref();
            if row.is_busy(now) {
                blocked.extend(aggregate);
            } else if !aggregate.is_some_and(|aggregate| blocked.contains(aggregate)) {
                due.push(*seq);
            }
        }
        let mut claimed = Vec::with_capacity(due.len());
        for seq in due {
            if let Some(row) = self.rows.get_mut(&seq) {
                row.leased_until = Some(lease_until);
                claimed.push(row.message.clone());
            }
        }
        claimed
    }

    fn remove(&mut self, id: OutboxId) {
        if let Some(seq) = self.by_id.remove(&id) {
            self.rows.remove(&seq);
        }
    }

    fn record_failure(&mut self, id: OutboxId, error: &str, retry_at: DateTime<Utc>) {
        let Some(seq) = self.by_id.get(&id).copied() else {
            return;
        };
        if let Some(row) = self.rows.get_mut(&seq) {
            row.message.attempts = row.message.attempts.saturating_add(1);
            row.last_error = Some(error.to_owned());
            row.retry_at = Some(retry_at);
            row.leased_until = None;
        }
    }

    fn last_error(&self, id: OutboxId) -> Option<String> {
        let seq = self.by_id.get(&id)?;
        self.rows.get(seq)?.last_error.clone()
    }
}

/// [`Outbox`] over a [`MemoryStore`].
///
/// Leases and retry times are compared with the system clock (UTC).
#[derive(Component)]
#[shaku(interface = Outbox)]
pub struct MemoryOutbox {
    store: Arc<MemoryStore>,
}

impl MemoryOutbox {
    /// An outbox over `store`.
    #[must_use]
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self { store }
    }

    /// The shaku parameters that build it over `store` (for
    /// `with_component_parameters::<MemoryOutbox>`).
    #[must_use]
    pub fn parameters(store: Arc<MemoryStore>) -> MemoryOutboxParameters {
        MemoryOutboxParameters { store }
    }

    /// The error of the message's last failed attempt, while it is unsent.
    #[must_use]
    pub fn last_error(&self, id: OutboxId) -> Option<String> {
        self.store.snapshot().logs.outbox.last_error(id)
    }
}

impl fmt::Debug for MemoryOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryOutbox").finish_non_exhaustive()
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, tx: &mut Transaction, topic: &str, event: &Event) -> Result<(), StoreError> {
        let message = OutboxMessage {
            id: OutboxId::new(),
            topic: topic.to_owned(),
            event: event.clone(),
            attempts: 0,
        };
        MemoryTx::of(tx, &self.store)?.pending_outbox().push(message);
        Ok(())
    }

    async fn claim(&self, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>, StoreError> {
        let now = Utc::now();
        // A lease too long to represent simply never ends.
        let lease_until = TimeDelta::from_std(lease)
            .ok()
            .and_then(|lease| now.checked_add_signed(lease))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.store
            .update_logs(|logs| Ok(logs.outbox.claim(limit, now, lease_until)))
    }

    async fn mark_sent(&self, ids: &[OutboxId]) -> Result<(), StoreError> {
        self.store.update_logs(|logs| {
            ids.iter().for_each(|id| logs.outbox.remove(*id));
            Ok(())
        })
    }

    async fn mark_failed(&self, id: OutboxId, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        self.store.update_logs(|logs| {
            logs.outbox.record_failure(id, error, retry_at);
            Ok(())
        })
    }

    async fn pending(&self) -> Result<u64, StoreError> {
        Ok(self.store.snapshot().logs.outbox.len() as u64)
    }

    /// Sent messages are removed at once (`mark_sent`): nothing to purge.
    async fn purge_sent(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
