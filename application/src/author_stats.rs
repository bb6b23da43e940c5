//! The example subscriber: how a module reacts to another's events. It
//! counts each author's published posts from `blog.post.published` events.
//!
//! Delivery is at least once (the relay and the bus may both repeat an
//! event), so the count goes through [`IdempotentHandler`]: the increment
//! and the event's processed record commit in one unit of work, and a
//! repeated event finds its record and changes nothing.

use std::sync::Arc;

use async_trait::async_trait;
use platform_core::blog::events as blog_events;
use platform_ports::BoxError;
use platform_ports::blog::AuthorStats;
use platform_ports::events::{Event, ProcessedEvents};
use platform_ports::model::UserId;
use platform_ports::persistence::{Transaction, UnitOfWork};

use crate::idempotent::{IdempotentHandler, TransactionalEventHandler};

/// The subscriber (consumer group) name the counts are kept under.
pub const AUTHOR_STATS_SUBSCRIBER: &str = "blog.author-stats";

/// Adds one to the author's count for every post published.
pub struct PublishedPostCounter {
    stats: Arc<dyn AuthorStats>,
}

impl PublishedPostCounter {
    /// A counter writing to `stats`.
    pub fn new(stats: Arc<dyn AuthorStats>) -> Self {
        Self { stats }
    }

    /// The counter behind the processed-events record: what the blog
    /// module subscribes.
    pub fn idempotent(
        stats: Arc<dyn AuthorStats>,
        uow: Arc<dyn UnitOfWork>,
        processed: Arc<dyn ProcessedEvents>,
    ) -> IdempotentHandler {
        IdempotentHandler::new(AUTHOR_STATS_SUBSCRIBER, uow, processed, Arc::new(Self::new(stats)))
    }
}

#[async_trait]
impl TransactionalEventHandler for PublishedPostCounter {
    async fn handle(&self, tx: &mut Transaction, event: &Event) -> Result<(), BoxError> {
        if event.event_type != blog_events::POST_PUBLISHED {
            return Ok(());
        }
        // A published event without its author is a producer bug: failing
        // sends it to the dead letters, where it can be seen.
        let author: UserId = serde_json::from_value(
            event
                .data
                .get("author_id")
                .cloned()
                .ok_or("blog.post.published without author_id")?,
        )?;
        self.stats.add_published(tx, event.tenant_id, author).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use platform_ports::blog::MockAuthorStats;
    use platform_ports::events::{EventHandler, MockProcessedEvents};
    use platform_ports::model::TenantId;
    use platform_ports::persistence::MockUnitOfWork;
    use platform_ports::testing::{FakeTx, TxOutcome};
    use serde_json::json;

    use super::*;

    fn event(event_type: &str, author: UserId) -> Event {
        Event::new(
            event_type,
            "blog",
            TenantId::DEFAULT,
            json!({ "id": UserId::new(), "author_id": author }),
        )
    }

    fn uow(tx: &FakeTx) -> Arc<dyn UnitOfWork> {
        let mut uow = MockUnitOfWork::new();
        let handed = tx.clone();
        uow.expect_begin()
            .returning(move || Ok(Transaction::new(handed.clone())));
        Arc::new(uow)
    }

    #[tokio::test]
    async fn a_publication_counts_once_for_its_author() {
        let author = UserId::new();
        let mut stats = MockAuthorStats::new();
        stats
            .expect_add_published()
            .withf(move |_, tenant, a| *tenant == TenantId::DEFAULT && *a == author)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let published = event(blog_events::POST_PUBLISHED, author);
        let id = published.id;
        // The record answers "new" the first time and "seen" after.
        let mut processed = MockProcessedEvents::new();
        let mut first = true;
        processed
            .expect_mark_processed()
            .withf(move |_, subscriber, e| subscriber == AUTHOR_STATS_SUBSCRIBER && *e == id)
            .times(2)
            .returning(move |_, _, _| Ok(std::mem::replace(&mut first, false)));
        let tx = FakeTx::new();
        let handler = PublishedPostCounter::idempotent(Arc::new(stats), uow(&tx), Arc::new(processed));
        handler.handle(&published).await.unwrap();
        assert_eq!(tx.outcome(), TxOutcome::Committed);
        // Delivered again: the record holds it, the count is not touched.
        handler.handle(&published).await.unwrap();
    }

    #[tokio::test]
    async fn other_blog_events_count_nothing() {
        let mut stats = MockAuthorStats::new();
        stats.expect_add_published().never();
        let counter = PublishedPostCounter::new(Arc::new(stats));
        let tx = FakeTx::new();
        let mut t = Transaction::new(tx);
        for kind in [
            blog_events::POST_CREATED,
            blog_events::POST_UPDATED,
            blog_events::POST_DELETED,
        ] {
            counter.handle(&mut t, &event(kind, UserId::new())).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_failed_count_fails_the_handler_so_the_bus_retries() {
        let mut stats = MockAuthorStats::new();
        stats
            .expect_add_published()
            .returning(|_, _, _| Err(platform_ports::StoreError::backend("down")));
        let counter = PublishedPostCounter::new(Arc::new(stats));
        let mut t = Transaction::new(FakeTx::new());
        let e = event(blog_events::POST_PUBLISHED, UserId::new());
        assert!(counter.handle(&mut t, &e).await.is_err());
        let no_author = Event::new(blog_events::POST_PUBLISHED, "blog", TenantId::DEFAULT, json!({}));
        assert!(counter.handle(&mut t, &no_author).await.is_err());
    }
}
