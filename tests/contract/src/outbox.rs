//! The outbox: commit order, leases, failures with retry times, and
//! per-aggregate ordering. These checks expect an outbox no one else drains.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use platform_ports::events::Outbox;
use platform_ports::events::{Event, OutboxMessage};
use platform_ports::model::EventId;
use platform_ports::persistence::UnitOfWork;

use crate::fixtures::{committed, event, tenant};

const LONG: Duration = Duration::from_secs(300);

fn event_ids(messages: &[OutboxMessage]) -> Vec<EventId> {
    messages.iter().map(|m| m.event.id).collect()
}

async fn enqueue_all(outbox: &dyn Outbox, uow: &dyn UnitOfWork, events: &[Event]) {
    committed(uow, async |tx| {
        for e in events {
            outbox.enqueue(tx, "platform.test", e).await?;
        }
        Ok(())
    })
    .await
    .unwrap();
}

/// Messages come out in commit order, with their topic and event intact.
pub async fn outbox_commit_order(outbox: Arc<dyn Outbox>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let first = [event(t, "a.one", None), event(t, "a.two", None)];
    let second = [event(t, "b.one", None)];
    enqueue_all(&*outbox, &*uow, &first).await;
    enqueue_all(&*outbox, &*uow, &second).await;
    assert_eq!(outbox.pending().await.unwrap(), 3);

    let claimed = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(event_ids(&claimed), vec![first[0].id, first[1].id, second[0].id]);
    assert_eq!(claimed[0].event, first[0]);
    assert_eq!(claimed[0].topic, "platform.test");
    assert!(claimed.iter().all(|m| m.attempts == 0));
    let mut ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "message ids must be distinct");
}

/// A claim leases what it returns; other claims skip leased messages until
/// they are sent (removed) or the lease runs out.
pub async fn outbox_claim_leases(outbox: Arc<dyn Outbox>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let events = [event(t, "e1", None), event(t, "e2", None), event(t, "e3", None)];
    enqueue_all(&*outbox, &*uow, &events).await;

    let first = outbox.claim(2, LONG).await.unwrap();
    assert_eq!(event_ids(&first), vec![events[0].id, events[1].id]);
    let second = outbox.claim(10, Duration::from_secs(1)).await.unwrap();
    assert_eq!(event_ids(&second), vec![events[2].id]);
    assert!(
        outbox.claim(10, LONG).await.unwrap().is_empty(),
        "leased messages were claimed twice"
    );
    assert_eq!(
        outbox.pending().await.unwrap(),
        3,
        "leased messages still wait to be sent"
    );

    let ids: Vec<_> = first.iter().map(|m| m.id).collect();
    outbox.mark_sent(&ids).await.unwrap();
    outbox.mark_sent(&ids).await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 1);

    // The short lease of the third message runs out: a relay that died
    // holding it does not lose it.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let reclaimed = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(event_ids(&reclaimed), vec![events[2].id]);
    assert_eq!(reclaimed[0].attempts, 0);
    assert!(outbox.claim(0, LONG).await.unwrap().is_empty());
}

/// A failure counts an attempt, frees the message and hides it until its
/// retry time.
pub async fn outbox_mark_failed_retries_later(outbox: Arc<dyn Outbox>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let events = [event(t, "later", None), event(t, "now", None)];
    enqueue_all(&*outbox, &*uow, &events).await;
    let claimed = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(claimed.len(), 2);

    outbox
        .mark_failed(claimed[0].id, "broker down", Utc::now() + TimeDelta::hours(1))
        .await
        .unwrap();
    outbox
        .mark_failed(claimed[1].id, "broker down", Utc::now() - TimeDelta::seconds(1))
        .await
        .unwrap();
    let retried = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(
        event_ids(&retried),
        vec![events[1].id],
        "only the due message is retried"
    );
    assert_eq!(retried[0].attempts, 1);

    outbox
        .mark_failed(retried[0].id, "still down", Utc::now() - TimeDelta::seconds(1))
        .await
        .unwrap();
    let again = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(again[0].attempts, 2);
    assert_eq!(outbox.pending().await.unwrap(), 2);
}

/// While an aggregate's older message is leased or waiting for a retry, its
/// newer messages stay put; other aggregates flow.
pub async fn outbox_keeps_aggregate_order(outbox: Arc<dyn Outbox>, uow: Arc<dyn UnitOfWork>) {
    let t = tenant();
    let a1 = event(t, "a1", Some("post-a"));
    let b1 = event(t, "b1", Some("post-b"));
    let a2 = event(t, "a2", Some("post-a"));
    let free = event(t, "free", None);
    let a3 = event(t, "a3", Some("post-a"));
    enqueue_all(
        &*outbox,
        &*uow,
        &[a1.clone(), b1.clone(), a2.clone(), free.clone(), a3.clone()],
    )
    .await;

    let head = outbox.claim(1, LONG).await.unwrap();
    assert_eq!(event_ids(&head), vec![a1.id]);
    let others = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(event_ids(&others), vec![b1.id, free.id], "a2 overtook a leased a1");

    outbox
        .mark_failed(head[0].id, "timeout", Utc::now() + TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(
        outbox.claim(10, LONG).await.unwrap().is_empty(),
        "a2 overtook a1 waiting for retry"
    );

    outbox
        .mark_failed(head[0].id, "timeout", Utc::now() - TimeDelta::seconds(1))
        .await
        .unwrap();
    // Once a1 is due, one claim may take the aggregate's run in order.
    let run = outbox.claim(10, LONG).await.unwrap();
    assert_eq!(event_ids(&run), vec![a1.id, a2.id, a3.id]);
    assert_eq!(run[0].attempts, 2);

    let ids: Vec<_> = run.iter().chain(&others).map(|m| m.id).collect();
    outbox.mark_sent(&ids).await.unwrap();
    assert_eq!(outbox.pending().await.unwrap(), 0);
}
