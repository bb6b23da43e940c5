//! Idempotent event handling: the handler's effect and the processed-event
//! record commit in one unit of work, so an event delivered twice (the bus
//! delivers at least once) has its effect once.

use std::sync::Arc;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::events::{Event, EventHandler, ProcessedEvents};
use platform_ports::persistence::{Transaction, UnitOfWork};

/// A handler whose writes go into the unit of work it is given; the
/// [`IdempotentHandler`] around it opens and commits that unit of work.
#[async_trait]
pub trait TransactionalEventHandler: Send + Sync {
    /// Applies the event's effect inside `tx` (never commits it).
    ///
    /// # Errors
    /// Any error rolls back the effect and the record; the bus retries.
    async fn handle(&self, tx: &mut Transaction, event: &Event) -> Result<(), BoxError>;
}

/// An [`EventHandler`] that runs its inner handler at most once per event
/// id for its subscriber: it records the id in the same unit of work as the
/// effect and skips ids already recorded.
///
/// Subscribe it under the same subscriber name it was built with: the
/// record is kept per subscriber, so two subscribers of one event each
/// have their effect.
pub struct IdempotentHandler {
    subscriber: String,
    uow: Arc<dyn UnitOfWork>,
    processed: Arc<dyn ProcessedEvents>,
    inner: Arc<dyn TransactionalEventHandler>,
}

impl IdempotentHandler {
    /// Wraps `inner` for `subscriber`.
    pub fn new(
        subscriber: impl Into<String>,
        uow: Arc<dyn UnitOfWork>,
        processed: Arc<dyn ProcessedEvents>,
        inner: Arc<dyn TransactionalEventHandler>,
    ) -> Self {
        Self {
            subscriber: subscriber.into(),
            uow,
            processed,
            inner,
        }
    }

    /// The subscriber name the record is kept under.
    #[must_use]
    pub fn subscriber(&self) -> &str {
        &self.subscriber
    }
}

#[async_trait]
impl EventHandler for IdempotentHandler {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        let mut tx = self.uow.begin().await?;
        // On PostgreSQL a concurrent delivery of the same event waits here
        // for this one's outcome, so the two never both apply the effect.
        if !self
            .processed
            .mark_processed(&mut tx, &self.subscriber, event.id)
            .await?
        {
            tracing::debug!(subscriber = %self.subscriber, event_id = %event.id, "event already handled; skipped");
            tx.rollback().await?;
            return Ok(());
        }
        if let Err(error) = self.inner.handle(&mut tx, event).await {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(subscriber = %self.subscriber, event_id = %event.id, %rollback, "rollback after a failed handler failed");
            }
            return Err(error);
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
