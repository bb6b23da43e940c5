//! The outbox relay: publishes events committed to the outbox, in commit
//! order per aggregate, at least once.
//!
//! A crash between commit and publish loses nothing: the rows stay in the
//! outbox until a relay marks them sent, which it does only once the bus
//! acknowledged them (on Kafka: the broker, `acks=all`). A round hands its
//! whole batch to the bus at once ([`EventBus::publish_batch`]): on Kafka
//! every event is on its way before the first acknowledgement comes back,
//! and one aggregate's events land in commit order (one key, one partition,
//! the idempotent producer's order). Then the acknowledged rows are marked
//! sent in one statement. The first failure of an aggregate holds back its
//! later events (even ones the broker acknowledged) until the failed one
//! went out, so a retry republishes them after it.
//!
//! Claims are leased, so several instances can relay at once: the outbox
//! hands a message, and every later message of its aggregate, to one relay
//! at a time. A batch is only published while it can end inside the lease,
//! so an acknowledged message is normally marked sent before anyone else may
//! claim it; the exceptions (a crash, a mark that fails) publish it again,
//! which is why consumers deduplicate by event id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::error_bus::{ErrorPublisher, ErrorReport};
use platform_ports::events::EventBus;
use platform_ports::events::Outbox;
use platform_ports::lifecycle::BackgroundService;
use platform_ports::metrics::{Gauge, Metrics};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod round;

#[cfg(test)]
use round::backoff;
use round::relay_once;

/// How the relay polls and retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelaySettings {
    /// Messages claimed (and published at once) per round.
    pub batch_size: usize,
    /// How long a claim hides messages from other relays; longer than
    /// `publish_timeout`, so an acknowledged publish is marked sent before
    /// another relay may claim the message again.
    pub lease: Duration,
    /// The longest a round's publish may take (the bus's own
    /// acknowledgement timeout); events still unacknowledged then count as
    /// failed.
    pub publish_timeout: Duration,
    /// Pause between rounds when the outbox was empty.
    pub poll_interval: Duration,
    /// First retry delay after a failed publish (doubles per attempt).
    pub initial_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How often the backlog gauge is refreshed (it counts the waiting rows).
    pub backlog_interval: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 500,
            lease: Duration::from_secs(60),
            publish_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(100),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            backlog_interval: Duration::from_secs(5),
        }
    }
}

/// Carries outbox messages to the event bus.
pub struct OutboxRelay {
    outbox: Arc<dyn Outbox>,
    bus: Arc<dyn EventBus>,
    errors: Arc<dyn ErrorPublisher>,
    settings: RelaySettings,
    backlog: Option<Arc<dyn Gauge>>,
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
            backlog: None,
            running: Mutex::new(None),
        }
    }

    /// Reports the backlog (messages waiting in the outbox) as the gauge
    /// `outbox.relay.backlog` of `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: &dyn Metrics) -> Self {
        self.backlog = Some(metrics.gauge(
            "outbox.relay.backlog",
            "Events committed to the outbox and not yet acknowledged by the bus.",
            "{event}",
        ));
        self
    }

    /// One round: claims a batch and publishes it. Returns how many were sent.
    ///
    /// # Errors
    /// When the outbox itself fails (claim or mark).
    pub async fn relay_once(&self) -> Result<usize, BoxError> {
        let (sent, _) = relay_once(&*self.outbox, &*self.bus, &*self.errors, &self.settings).await?;
        Ok(sent)
    }
}

/// Refreshes the backlog gauge at most once per `interval`.
struct BacklogProbe {
    gauge: Option<Arc<dyn Gauge>>,
    interval: Duration,
    last: Option<Instant>,
}

impl BacklogProbe {
    async fn refresh(&mut self, outbox: &dyn Outbox) {
        let Some(gauge) = &self.gauge else { return };
        if self.last.is_some_and(|last| last.elapsed() < self.interval) {
            return;
        }
        self.last = Some(Instant::now());
        match outbox.pending().await {
            #[allow(
                clippy::cast_precision_loss,
                reason = "a backlog beyond 2^53 rows is not a real case"
            )]
            Ok(pending) => gauge.record(pending as f64, &[]),
            Err(err) => tracing::warn!(error = %err, "cannot count the outbox backlog"),
        }
    }
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
        let mut probe = BacklogProbe {
            gauge: self.backlog.clone(),
            interval: settings.backlog_interval,
            last: None,
        };
        let task = tokio::spawn(async move {
            loop {
                probe.refresh(&*outbox).await;
                let full = match relay_once(&*outbox, &*bus, &*errors, &settings).await {
                    // A full batch that went out: more may be waiting.
                    Ok((sent, claimed)) => claimed >= settings.batch_size && sent > 0,
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
