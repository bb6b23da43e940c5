//! Several relays (pools, as separate instances would have) claim at once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use platform_adapter_postgres::{PgDatabase, PgOutbox, PgUnitOfWork};
use platform_contract::fixtures::{committed, event, tenant};
use platform_ports::events::Outbox;
use platform_ports::events::OutboxMessage;
use platform_ports::model::EventId;

use crate::support::TestSchema;

const MESSAGES: usize = 300;
const AGGREGATES: usize = 5;

/// Claims and marks sent until nothing is left; returns what it claimed,
/// each batch stamped with the shared claim counter.
async fn relay(outbox: PgOutbox, clock: Arc<AtomicU64>) -> Vec<(u64, OutboxMessage)> {
    let mut claimed = Vec::new();
    let mut idle_rounds = 0;
    while idle_rounds < 3 {
        let batch = outbox.claim(7, Duration::from_secs(60)).await.unwrap();
        if batch.is_empty() {
            idle_rounds += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        idle_rounds = 0;
        let stamp = clock.fetch_add(1, Ordering::SeqCst);
        let ids: Vec<_> = batch.iter().map(|m| m.id).collect();
        claimed.extend(batch.into_iter().map(|m| (stamp, m)));
        outbox.mark_sent(&ids).await.unwrap();
    }
    claimed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_share_a_message_nor_reorder_an_aggregate() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let t = tenant();
    let events: Vec<_> = (0..MESSAGES)
        .map(|i| event(t, &format!("e{i}"), Some(&format!("agg-{}", i % AGGREGATES))))
        .collect();
    let uow = PgUnitOfWork::new(schema.db.clone());
    let outbox = PgOutbox::new(schema.db.clone());
    for chunk in events.chunks(50) {
        committed(&uow, async |tx| {
            for e in chunk {
                outbox.enqueue(tx, "platform.test", e).await?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }

    let clock = Arc::new(AtomicU64::new(0));
    let relays: Vec<_> = [schema.app_pool(4), schema.app_pool(4)]
        .into_iter()
        .map(|pool| {
            let outbox = PgOutbox::new(PgDatabase::from_pool(pool, None));
            tokio::spawn(relay(outbox, Arc::clone(&clock)))
        })
        .collect();
    let mut claimed = Vec::new();
    let mut per_relay = Vec::new();
    for relay in relays {
        let mine = relay.await.unwrap();
        per_relay.push(mine.len());
        claimed.extend(mine);
    }

    let mut seen = HashSet::new();
    for (_, message) in &claimed {
        assert!(
            seen.insert(message.event.id),
            "{:?} was claimed twice",
            message.event.id
        );
    }
    assert_eq!(seen.len(), MESSAGES, "messages were lost (relays: {per_relay:?})");
    assert_eq!(outbox.pending().await.unwrap(), 0);

    // Within an aggregate, claims happen in enqueue order even across relays.
    claimed.sort_by_key(|(stamp, _)| *stamp);
    let mut by_aggregate: BTreeMap<String, Vec<EventId>> = BTreeMap::new();
    for (_, message) in &claimed {
        let aggregate = message.event.aggregate_id.clone().unwrap();
        by_aggregate.entry(aggregate).or_default().push(message.event.id);
    }
    for (aggregate, ids) in by_aggregate {
        let expected: Vec<EventId> = events
            .iter()
            .filter(|e| e.aggregate_id.as_deref() == Some(&aggregate))
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, expected, "{aggregate} was published out of order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_are_kept_until_purged_and_failures_are_recorded() {
    let Some(schema) = TestSchema::create().await else {
        return;
    };
    let uow = PgUnitOfWork::new(schema.db.clone());
    let outbox = PgOutbox::new(schema.db.clone());
    let t = tenant();
    let (sent, failing) = (event(t, "sent", None), event(t, "failing", None));
    committed(&uow, async |tx| {
        outbox.enqueue(tx, "platform.test", &sent).await?;
        outbox.enqueue(tx, "platform.test", &failing).await
    })
    .await
    .unwrap();
    let claimed = outbox.claim(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    outbox.mark_sent(&[claimed[0].id]).await.unwrap();
    let retry_at = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    outbox
        .mark_failed(claimed[1].id, "broker down", retry_at)
        .await
        .unwrap();
    assert_eq!(
        outbox.last_error(claimed[1].id).await.unwrap().as_deref(),
        Some("broker down")
    );
    assert_eq!(outbox.last_error(claimed[0].id).await.unwrap(), None);

    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox")
            .fetch_one(schema.owner.pool())
            .await
            .unwrap()
    };
    assert_eq!(rows().await, 2, "the sent row is kept for inspection");
    let purged = outbox
        .purge_sent(chrono::Utc::now() + chrono::TimeDelta::seconds(1))
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert_eq!(rows().await, 1, "only the sent row is purged");
    assert_eq!(outbox.pending().await.unwrap(), 1);
}
