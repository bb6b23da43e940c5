//! The processed-events record: new once per subscriber and event, rolled
//! back with its unit of work, and concurrent duplicates settled to one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use platform_ports::events::ProcessedEvents;
use platform_ports::model::EventId;
use platform_ports::persistence::UnitOfWork;

/// Records `event` for `subscriber` in a committed unit of work; returns
/// whether it was new.
async fn mark(uow: &dyn UnitOfWork, processed: &dyn ProcessedEvents, subscriber: &str, event: EventId) -> bool {
    let mut tx = uow.begin().await.unwrap();
    let new = processed.mark_processed(&mut tx, subscriber, event).await.unwrap();
    tx.commit().await.unwrap();
    new
}

/// A record is new the first time only, and kept per subscriber.
pub async fn processed_record_is_new_once_per_subscriber(
    uow: Arc<dyn UnitOfWork>,
    processed: Arc<dyn ProcessedEvents>,
) {
    let event = EventId::new();
    assert!(!processed.is_processed("mailer", event).await.unwrap());
    assert!(mark(&*uow, &*processed, "mailer", event).await);
    assert!(processed.is_processed("mailer", event).await.unwrap());
    assert!(!mark(&*uow, &*processed, "mailer", event).await, "a duplicate was new");
    assert!(
        mark(&*uow, &*processed, "counter", event).await,
        "another subscriber's record"
    );
    assert!(!processed.is_processed("mailer", EventId::new()).await.unwrap());

    let mut tx = uow.begin().await.unwrap();
    let other = EventId::new();
    assert!(processed.mark_processed(&mut tx, "mailer", other).await.unwrap());
    assert!(
        !processed.mark_processed(&mut tx, "mailer", other).await.unwrap(),
        "the unit of work sees its own record"
    );
    tx.commit().await.unwrap();
}

/// A record rolled back (the handler failed) leaves the event unprocessed.
pub async fn processed_record_rolls_back_with_its_unit_of_work(
    uow: Arc<dyn UnitOfWork>,
    processed: Arc<dyn ProcessedEvents>,
) {
    let event = EventId::new();
    let mut tx = uow.begin().await.unwrap();
    assert!(processed.mark_processed(&mut tx, "mailer", event).await.unwrap());
    tx.rollback().await.unwrap();
    assert!(!processed.is_processed("mailer", event).await.unwrap());

    let tx = {
        let mut tx = uow.begin().await.unwrap();
        assert!(processed.mark_processed(&mut tx, "mailer", event).await.unwrap());
        tx
    };
    drop(tx);
    assert!(
        !processed.is_processed("mailer", event).await.unwrap(),
        "a dropped unit of work kept its record"
    );
    assert!(mark(&*uow, &*processed, "mailer", event).await);
}

/// Two deliveries of one event handled at the same moment: exactly one of
/// them finds its record new.
pub async fn processed_record_settles_concurrent_duplicates(
    uow: Arc<dyn UnitOfWork>,
    processed: Arc<dyn ProcessedEvents>,
) {
    let event = EventId::new();
    let attempt = |uow: Arc<dyn UnitOfWork>, processed: Arc<dyn ProcessedEvents>| async move {
        let mut tx = uow.begin().await.unwrap();
        let new = processed.mark_processed(&mut tx, "mailer", event).await.unwrap();
        // Hold the record open while the other delivery tries.
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.commit().await.unwrap();
        new
    };
    let (a, b) = tokio::join!(
        tokio::spawn(attempt(uow.clone(), processed.clone())),
        tokio::spawn(attempt(uow.clone(), processed.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a ^ b, "both or neither delivery found the record new ({a}, {b})");
}

/// Purging forgets records older than the cut-off only.
pub async fn processed_purge_forgets_old_records(uow: Arc<dyn UnitOfWork>, processed: Arc<dyn ProcessedEvents>) {
    let event = EventId::new();
    assert!(mark(&*uow, &*processed, "purged", event).await);
    assert_eq!(processed.purge(Utc::now() - TimeDelta::hours(1)).await.unwrap(), 0);
    assert!(processed.is_processed("purged", event).await.unwrap());
    assert!(processed.purge(Utc::now() + TimeDelta::seconds(5)).await.unwrap() >= 1);
    assert!(!processed.is_processed("purged", event).await.unwrap());
}
