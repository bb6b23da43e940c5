//! A subscription's worker: takes its events one at a time, retries a failing
//! handler with backoff, and dead-letters what never succeeds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use platform_ports::events::EventHandler;
use platform_ports::events::{DeadLetter, Event};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::InProcessBusSettings;
use super::attempt::{backoff, run_guarded};

/// Events that exhausted their retries, oldest first, bounded by the settings.
#[derive(Default)]
pub(super) struct DeadLetters {
    ring: Mutex<VecDeque<DeadLetter>>,
}

impl DeadLetters {
    fn push(&self, letter: DeadLetter, capacity: usize) {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        while !ring.is_empty() && ring.len() >= capacity {
            ring.pop_front();
        }
        if capacity > 0 {
            ring.push_back(letter);
        }
    }

    /// The `limit` most recent, most recent last.
    pub(super) fn latest(&self, limit: usize) -> Vec<DeadLetter> {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        ring.iter().skip(ring.len().saturating_sub(limit)).cloned().collect()
    }
}

/// Everything one subscription's task owns.
pub(super) struct Worker {
    pub(super) topic: String,
    pub(super) subscriber: String,
    pub(super) handler: Arc<dyn EventHandler>,
    pub(super) events: mpsc::Receiver<Arc<Event>>,
    pub(super) stopped: watch::Receiver<bool>,
    pub(super) settings: InProcessBusSettings,
    pub(super) dead_letters: Arc<DeadLetters>,
}

/// Resolves once the subscription is cancelled. A dropped sender means the
/// bus itself went away: the queue's closing ends the worker instead.
async fn cancelled(stopped: &mut watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Worker {
    /// Handles queued events until the subscription is cancelled or its
    /// queue is closed and empty; returns the events it did not handle (the
    /// one it gave up retrying first), for the group's next member.
    pub(super) async fn run(mut self) -> Vec<Arc<Event>> {
        let mut unhandled = Vec::new();
        loop {
            let event = tokio::select! {
                biased;
                () = cancelled(&mut self.stopped) => break,
                event = self.events.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
            };
            let span = self.delivery_span(&event);
            if !self.deliver(&event).instrument(span).await {
                unhandled.push(event);
                break;
            }
        }
        while let Ok(event) = self.events.try_recv() {
            unhandled.push(event);
        }
        unhandled
    }

    /// The span of one event's delivery (every attempt): a consumer span
    /// continuing the trace the event carries (OpenTelemetry's messaging
    /// conventions; the subscriber is the consumer group).
    fn delivery_span(&self, event: &Event) -> tracing::Span {
        let span = tracing::info_span!(
            "event.process",
            otel.name = %format_args!("process {}", self.topic),
            otel.kind = "consumer",
            messaging.system = "memory",
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = %self.topic,
            messaging.consumer.group.name = %self.subscriber,
            messaging.message.id = %event.id,
            cloudevents.event_type = %event.event_type,
        );
        platform_ports::telemetry::follow(&span, event.trace_parent.as_deref());
        span
    }

    /// Returns `false` when cancelled before the event was handled or dead-lettered.
    async fn deliver(&mut self, event: &Event) -> bool {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match run_guarded(self.handler.handle(event)).await {
                Ok(()) => return true,
                Err(error) => error,
            };
            if attempts > self.settings.max_retries {
                self.dead_letter(event, attempts, error);
                return true;
            }
            let wait = backoff(self.settings.initial_backoff, self.settings.max_backoff, attempts);
            tracing::warn!(
                topic = %self.topic, subscriber = %self.subscriber, event_id = %event.id,
                attempts, retry_in = ?wait, %error, "event handler failed; retrying"
            );
            tokio::select! {
                biased;
                () = cancelled(&mut self.stopped) => {
                    tracing::warn!(
                        topic = %self.topic, subscriber = %self.subscriber, event_id = %event.id,
                        attempts, "unsubscribed while retrying; the event goes back to the group"
                    );
                    return false;
                }
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn dead_letter(&self, event: &Event, attempts: u32, error: String) {
        tracing::error!(
            topic = %self.topic, subscriber = %self.subscriber, event_id = %event.id,
            attempts, %error, "event handler failed after every retry; event dead-lettered"
        );
        let letter = DeadLetter {
            topic: self.topic.clone(),
            subscriber: self.subscriber.clone(),
            event: event.clone(),
            attempts,
            last_error: error,
            failed_at: Utc::now(),
        };
        self.dead_letters.push(letter, self.settings.dead_letter_capacity);
    }
}
