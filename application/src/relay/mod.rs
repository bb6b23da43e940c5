//! The outbox relay: publishes events committed to the outbox, in commit
//! order per aggregate, at least once.
//!
//! A crash between commit and publish loses nothing: the rows stay in the
//! outbox until a relay marks them sent. Claims are leased, so several
//! instances can relay at once without publishing a row twice (except after
//! a lease expires mid-publish, which is why consumers deduplicate by event id).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::EventBus;
use platform_ports::events::Outbox;
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the relay polls and retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// Messages claimed per round.
    pub batch_size: usize,
    /// How long a claim hides messages from other relays.
    pub lease: Duration,
    /// Pause between rounds when the outbox was empty.
    pub poll_interval: Duration,
    /// First retry delay after a failed publish (doubles per attempt).
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(100),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Carries outbox messages to the event bus.
pub struct OutboxRelay {
    outbox: Arc<dyn Outbox>,
    bus: Arc<dyn EventBus>,
    errors: Arc<dyn ErrorPublisher>,
    settings: RelaySettings,
    running: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
}

impl OutboxRelay {
    /// A relay from `outbox` to `bus`; failures are reported to `errors`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        bus: Arc<dyn EventBus>,
        errors: Arc<dyn ErrorPublisher>,
        settings: RelaySettings,
    ) -> Self {
        Self {
            outbox,
            bus,
            errors,
            settings,
            running: Mutex::new(None),
        }
    }

    /// One round: claims a batch and publishes it. Returns how many were sent.
    ///
    /// # Errors
    /// When the outbox itself fails (claim or mark).
    pub async fn relay_once(&self) -> Result<usize, BoxError> {
        relay_once(&*self.outbox, &*self.bus, &*self.errors, &self.settings).await
    }
}

async fn relay_once(
    outbox: &dyn Outbox,
    bus: &dyn EventBus,
    errors: &dyn ErrorPublisher,
    s: &RelaySettings,
) -> Result<usize, BoxError> {
    let batch = outbox.claim(s.batch_size, s.lease).await?;
    let mut sent = Vec::with_capacity(batch.len());
    // Once a message of an aggregate fails, later ones of the same aggregate
    // wait too: publishing them now would break per-aggregate order.
    let mut blocked: HashSet<String> = HashSet::new();
    for msg in batch {
        let aggregate = msg.event.aggregate_id.clone().unwrap_or_default();
        if !aggregate.is_empty() && blocked.contains(&aggregate) {
            outbox
                .mark_failed(
                    msg.id,
                    "an earlier event of the same aggregate failed",
                    chrono::Utc::now(),
                )
                .await?;
            continue;
        }
        match bus.publish(&msg.topic, &msg.event).await {
            Ok(()) => sent.push(msg.id),
            Err(err) => {
                let delay = backoff(s, msg.attempts);
                tracing::warn!(topic = %msg.topic, event_id = %msg.event.id, attempts = msg.attempts + 1, error = %err, "outbox publish failed; will retry");
                errors.publish(ErrorReport::from_error(&err).in_module("outbox"));
                let retry_at = chrono::Utc::now()
                    + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(60));
                outbox.mark_failed(msg.id, &err.to_string(), retry_at).await?;
                if !aggregate.is_empty() {
                    blocked.insert(aggregate);
                }
            }
        }
    }
    if !sent.is_empty() {
        outbox.mark_sent(&sent).await?;
    }
    Ok(sent.len())
}

fn backoff(s: &RelaySettings, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.min(20));
    s.initial_backoff.saturating_mul(factor).min(s.max_backoff)
}

#[async_trait]
impl BackgroundService for OutboxRelay {
    fn name(&self) -> &'static str {
        "outbox-relay"
    }

    async fn start(&self) -> Result<(), BoxError> {
        let mut running = self.running.lock().map_err(|_| "relay state poisoned")?;
        if running.is_some() {
            return Err("outbox relay already started".into());
        }
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let (outbox, bus, errors, settings) = (
            self.outbox.clone(),
            self.bus.clone(),
            self.errors.clone(),
            self.settings.clone(),
        );
        let task = tokio::spawn(async move {
            loop {
                let full = match relay_once(&*outbox, &*bus, &*errors, &settings).await {
                    Ok(n) => n >= settings.batch_size,
                    Err(err) => {
                        tracing::error!(error = %err, "outbox relay round failed");
                        errors.publish(ErrorReport::message(err.to_string()).in_module("outbox"));
                        false
                    }
                };
                if *stop_rx.borrow() {
                    break;
                }
                if !full {
                    tokio::select! {
                        _ = stop_rx.changed() => {}
                        () = tokio::time::sleep(settings.poll_interval) => {}
                    }
                }
            }
        });
        *running = Some((stop_tx, task));
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        let running = self.running.lock().map_err(|_| "relay state poisoned")?.take();
        if let Some((stop, task)) = running {
            // The loop runs one last round after the signal, so events committed
            // by the requests that just drained still go out.
            let _ = stop.send(true);
            task.await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
