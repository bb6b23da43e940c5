//! One relay round: claim a batch, publish it aggregate by aggregate, record
//! the outcome.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::{BusError, EventBus, Outbox, OutboxMessage};
use platform_ports::model::OutboxId;
use tokio::time::Instant;

use super::RelaySettings;

/// What became of one aggregate's share of a batch.
#[derive(Default)]
struct LaneOutcome {
    /// Acknowledged by the bus, in order.
    sent: Vec<OutboxId>,
    /// The message that failed, with the error and its attempts so far.
    failed: Option<(OutboxMessage, BusError)>,
    /// Later messages of the failed aggregate: held back to keep its order.
    held: Vec<OutboxId>,
}

/// Splits a batch (in commit order) into lanes: one per aggregate, in commit
/// order within it; a message without an aggregate is a lane of its own.
fn lanes(batch: Vec<OutboxMessage>) -> Vec<Vec<OutboxMessage>> {
    let mut lanes: Vec<Vec<OutboxMessage>> = Vec::new();
    let mut by_aggregate: HashMap<String, usize> = HashMap::new();
    for msg in batch {
        match msg.event.aggregate_id.clone().filter(|a| !a.is_empty()) {
            Some(aggregate) => {
                if let Some(&i) = by_aggregate.get(&aggregate) {
                    lanes[i].push(msg);
                } else {
                    by_aggregate.insert(aggregate, lanes.len());
                    lanes.push(vec![msg]);
                }
            }
            None => lanes.push(vec![msg]),
        }
    }
    lanes
}

/// Publishes one lane in order, stopping at its first failure. A message is
/// only started while its publish can still end inside the claim's lease
/// (`start_by`); the rest stay leased and come back when the lease ends.
async fn publish_lane(
    bus: &dyn EventBus,
    lane: Vec<OutboxMessage>,
    publish_timeout: Duration,
    start_by: Instant,
) -> LaneOutcome {
    let mut out = LaneOutcome::default();
    let mut rest = lane.into_iter();
    for msg in rest.by_ref() {
        if Instant::now() > start_by {
            break;
        }
        let published = match tokio::time::timeout(publish_timeout, bus.publish(&msg.topic, &msg.event)).await {
            Ok(result) => result,
            Err(_) => Err(BusError::Backend(
                format!("no acknowledgement within {publish_timeout:?}").into(),
            )),
        };
        match published {
            Ok(()) => out.sent.push(msg.id),
            Err(err) => {
                out.failed = Some((msg, err));
                break;
            }
        }
    }
    if out.failed.is_some() {
        out.held = rest.map(|m| m.id).collect();
    }
    out
}

/// One round. Returns how many messages the bus acknowledged and how many
/// were claimed.
pub(super) async fn relay_once(
    outbox: &dyn Outbox,
    bus: &dyn EventBus,
    errors: &dyn ErrorPublisher,
    s: &RelaySettings,
) -> Result<(usize, usize), BoxError> {
    let claimed_at = Instant::now();
    let batch = outbox.claim(s.batch_size, s.lease).await?;
    let claimed = batch.len();
    if claimed == 0 {
        return Ok((0, 0));
    }
    let start_by = claimed_at + s.lease.saturating_sub(s.publish_timeout);
    // Different aggregates go out concurrently (bounded); each aggregate's
    // events go one after the other, each acknowledged before the next.
    let outcomes: Vec<LaneOutcome> = futures::stream::iter(lanes(batch))
        .map(|lane| publish_lane(bus, lane, s.publish_timeout, start_by))
        .buffer_unordered(s.concurrency.max(1))
        .collect()
        .await;

    // Marked sent first and in one statement: what the broker acknowledged
    // must not be published again because a later step failed.
    let sent: Vec<OutboxId> = outcomes.iter().flat_map(|o| o.sent.iter().copied()).collect();
    if !sent.is_empty() {
        outbox.mark_sent(&sent).await?;
    }
    let now = chrono::Utc::now();
    for outcome in outcomes {
        let Some((msg, err)) = outcome.failed else {
            continue;
        };
        let delay = backoff(s, msg.attempts);
        tracing::warn!(topic = %msg.topic, event_id = %msg.event.id, attempts = msg.attempts + 1, error = %err, "outbox publish failed; will retry");
        errors.publish(ErrorReport::from_error(&err).in_module("outbox"));
        let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(60));
        outbox
            .mark_failed(msg.id, &platform_ports::events::error_chain(&err), retry_at)
            .await?;
        // Released at once: the outbox keeps them behind their failed
        // predecessor, which now waits for its retry.
        for id in outcome.held {
            outbox
                .mark_failed(id, "an earlier event of the same aggregate failed", now)
                .await?;
        }
    }
    Ok((sent.len(), claimed))
}

/// The retry delay after `attempts` earlier failures: doubling, capped.
pub(super) fn backoff(s: &RelaySettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.min(20));
    s.initial_backoff.saturating_mul(factor).min(s.max_backoff)
}
