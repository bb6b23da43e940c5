//! One relay round: claim a batch, hand all of it to the bus at once,
//! record the outcome.

use std::collections::HashSet;
use std::time::Duration;

use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::{BusError, Event, EventBus, Outbox, OutboxMessage};
use platform_ports::model::OutboxId;
use tokio::time::Instant;

use super::RelaySettings;

/// What became of a batch.
#[derive(Default)]
struct Sorted {
    /// Acknowledged, and so was every earlier message of its aggregate.
    sent: Vec<OutboxId>,
    /// The first failure of each aggregate (or of a message without one).
    failed: Vec<(OutboxMessage, BusError)>,
    /// Messages after a failure of their aggregate: held back to keep its
    /// order, whatever the bus said about them.
    held: Vec<OutboxId>,
}

/// Sorts a batch (in commit order) by its outcomes (one per message, in
/// the same order). A message without an aggregate stands alone.
fn sort(batch: Vec<OutboxMessage>, outcomes: Vec<Result<(), BusError>>) -> Sorted {
    let mut sorted = Sorted::default();
    let mut failed: HashSet<String> = HashSet::new();
    for (msg, outcome) in batch.into_iter().zip(outcomes) {
        let aggregate = msg.event.aggregate_id.clone().filter(|a| !a.is_empty());
        if aggregate.as_ref().is_some_and(|a| failed.contains(a)) {
            sorted.held.push(msg.id);
            continue;
        }
        match outcome {
            Ok(()) => sorted.sent.push(msg.id),
            Err(err) => {
                failed.extend(aggregate);
                sorted.failed.push((msg, err));
            }
        }
    }
    sorted
}

/// Publishes the batch in one call: a bus that can keep many events in
/// flight (Kafka) has the whole batch on the wire before the first
/// acknowledgement comes back. Bounded by `publish_timeout`; past it every
/// message counts as failed (some may have gone out: at least once).
async fn publish(bus: &dyn EventBus, batch: &[OutboxMessage], publish_timeout: Duration) -> Vec<Result<(), BusError>> {
    let items: Vec<(&str, &Event)> = batch.iter().map(|m| (m.topic.as_str(), &m.event)).collect();
    let failed_all = |reason: String| {
        batch
            .iter()
            .map(|_| Err(BusError::Backend(reason.clone().into())))
            .collect()
    };
    match tokio::time::timeout(publish_timeout, bus.publish_batch(&items)).await {
        Ok(outcomes) if outcomes.len() == batch.len() => outcomes,
        Ok(outcomes) => failed_all(format!(
            "the bus answered {} outcomes for {} events",
            outcomes.len(),
            batch.len()
        )),
        Err(_) => failed_all(format!("no acknowledgement within {publish_timeout:?}")),
    }
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
    // The batch ends within `publish_timeout` of its start; started later
    // than this, an acknowledged message could be marked sent only after its
    // lease ended and another relay claimed it. Left leased, the rows come
    // back when the lease ends.
    if Instant::now() > claimed_at + s.lease.saturating_sub(s.publish_timeout) {
        tracing::warn!(
            claimed,
            "the claim took too long to publish inside its lease; the rows wait for it to end"
        );
        return Ok((0, claimed));
    }
    let outcomes = publish(bus, &batch, s.publish_timeout).await;
    let sorted = sort(batch, outcomes);

    // Marked sent first and in one statement: what the broker acknowledged
    // must not be published again because a later step failed.
    if !sorted.sent.is_empty() {
        outbox.mark_sent(&sorted.sent).await?;
    }
    let now = chrono::Utc::now();
    for (msg, err) in &sorted.failed {
        let delay = backoff(s, msg.attempts);
        tracing::warn!(topic = %msg.topic, event_id = %msg.event.id, attempts = msg.attempts + 1, error = %err, "outbox publish failed; will retry");
        errors.publish(ErrorReport::from_error(err).in_module("outbox"));
        let retry_at = now + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(60));
        outbox
            .mark_failed(msg.id, &platform_ports::events::error_chain(err), retry_at)
            .await?;
    }
    // Released at once: the outbox keeps them behind their failed
    // predecessor, which now waits for its retry.
    for id in &sorted.held {
        outbox
            .mark_failed(*id, "an earlier event of the same aggregate failed", now)
            .await?;
    }
    Ok((sorted.sent.len(), claimed))
}

/// The retry delay after `attempts` earlier failures: doubling, capped.
pub(super) fn backoff(s: &RelaySettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.min(20));
    s.initial_backoff.saturating_mul(factor).min(s.max_backoff)
}
