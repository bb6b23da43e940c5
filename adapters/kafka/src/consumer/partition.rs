//! A partition's worker: handles its messages one at a time, retries a
//! failing handler with backoff, dead-letters what never succeeds, and
//! stores each offset once the message is done with.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use chrono::Utc;
use platform_ports::events::{DeadLetter, Event, error_chain, panic_message};
use rdkafka::consumer::Consumer;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{PartitionState, SubscriptionContext};
use crate::envelope::{self, DeadLetterInfo};
use crate::topics::dead_letter_topic;

/// What became of a message.
enum Outcome {
    /// Handled or dead-lettered: its offset may be stored.
    Done,
    /// Given up because the subscription stops: left for redelivery.
    Abandoned,
}

/// One partition's handler loop.
pub(super) struct PartitionWorker {
    pub(super) cx: Arc<SubscriptionContext>,
    pub(super) partition: i32,
    pub(super) state: Arc<PartitionState>,
    pub(super) messages: mpsc::UnboundedReceiver<OwnedMessage>,
}

impl PartitionWorker {
    /// Waits for the partition's previous worker, then handles messages
    /// until the subscription stops, the partition is revoked or the
    /// dispatcher goes away.
    pub(super) async fn run(mut self, previous: Option<JoinHandle<()>>) {
        if let Some(previous) = previous {
            let _ = previous.await;
        }
        while let Some(message) = self.messages.recv().await {
            if self.cx.is_stopping() || self.state.is_revoked() {
                break;
            }
            let span = self.process_span(&message);
            match self.process(&message).instrument(span).await {
                Outcome::Done => self.store_offset(&message),
                Outcome::Abandoned => break,
            }
            self.dequeued();
        }
    }

    /// The span of one message (every attempt, and its dead-lettering): a
    /// consumer span continuing the trace in the `traceparent` header
    /// (OpenTelemetry's messaging conventions).
    fn process_span(&self, message: &OwnedMessage) -> tracing::Span {
        let cx = &self.cx;
        let span = tracing::info_span!(
            "kafka.process",
            otel.name = %format_args!("process {}", cx.topic),
            otel.kind = "consumer",
            messaging.system = "kafka",
            messaging.operation.type = "process",
            messaging.operation.name = "process",
            messaging.destination.name = %cx.topic,
            messaging.destination.partition.id = self.partition,
            messaging.consumer.group.name = %cx.group,
            messaging.kafka.offset = message.offset(),
            messaging.message.id = tracing::field::Empty,
        );
        if let Some(id) = envelope::header_text(message, envelope::header::EVENT_ID) {
            span.record("messaging.message.id", id);
        }
        let traceparent = envelope::header_text(message, envelope::header::TRACEPARENT);
        platform_ports::telemetry::follow(&span, traceparent);
        span
    }

    async fn process(&self, message: &OwnedMessage) -> Outcome {
        let event = match envelope::decode(message.payload()) {
            Ok(event) => Arc::new(event),
            // Retrying cannot make an unreadable message readable.
            Err(reason) => return self.dead_letter(message, None, 0, reason).await,
        };
        let retry = &self.cx.shared.settings.retry;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match self.attempt(&event).await {
                Ok(()) => return Outcome::Done,
                Err(error) => error,
            };
            if attempts > retry.max_retries {
                return self.dead_letter(message, Some(&event), attempts, error).await;
            }
            let wait = retry.backoff(attempts);
            tracing::warn!(
                topic = %self.cx.topic, group = %self.cx.group, partition = self.partition,
                offset = message.offset(), event_id = %event.id, attempts, retry_in = ?wait, %error,
                "event handler failed; retrying"
            );
            // The partition's next owner reads the event again from the
            // committed offset, so a revoked worker stops retrying it.
            if self.sleep_unless_stopped(wait).await || self.state.is_revoked() {
                return Outcome::Abandoned;
            }
        }
    }

    /// One handler call on its own task, so a panic is an error like any other.
    async fn attempt(&self, event: &Arc<Event>) -> Result<(), String> {
        let (handler, event) = (self.cx.handler.clone(), event.clone());
        let joined = tokio::spawn(
            async move { handler.handle(&event).await.map_err(|e| error_chain(&*e)) }
                .instrument(tracing::Span::current()),
        )
        .await;
        match joined {
            Ok(result) => result,
            Err(join) if join.is_panic() => Err(format!("handler panicked: {}", panic_message(&join.into_panic()))),
            Err(join) => Err(format!("handler task ended: {join}")),
        }
    }

    /// Sends the message to `<topic>.dlq` with why and how often it failed,
    /// retrying the send until the broker takes it (or the subscription stops).
    async fn dead_letter(
        &self,
        message: &OwnedMessage,
        event: Option<&Event>,
        attempts: u32,
        error: String,
    ) -> Outcome {
        let cx = &self.cx;
        let dlq = dead_letter_topic(&cx.topic);
        let info = DeadLetterInfo {
            error: &error,
            attempts,
            subscriber: &cx.subscriber,
            topic: &cx.topic,
            partition: self.partition,
            offset: message.offset(),
        };
        let headers = envelope::dead_letter_headers(message.headers(), &info);
        let timeout = Timeout::After(cx.shared.settings.publish_timeout);
        let mut tries = 0u32;
        loop {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&dlq).headers(headers.clone());
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            match cx.shared.producer.send(record, timeout).await {
                Ok(_) => break,
                Err((send_error, _)) => {
                    tries += 1;
                    let wait = cx.shared.settings.retry.backoff(tries);
                    tracing::error!(topic = %dlq, %send_error, retry_in = ?wait, "dead-lettering failed; retrying");
                    if self.sleep_unless_stopped(wait).await {
                        return Outcome::Abandoned;
                    }
                }
            }
        }
        tracing::error!(
            topic = %cx.topic, group = %cx.group, partition = self.partition, offset = message.offset(),
            event_id = ?event.map(|e| e.id), attempts, %error, dead_letter_topic = %dlq,
            "event dead-lettered"
        );
        if let Some(instruments) = &cx.shared.instruments {
            instruments.dead_lettered(&cx.topic, &cx.group);
        }
        if let Some(event) = event {
            cx.shared.dead_letters.push(DeadLetter {
                topic: cx.topic.clone(),
                subscriber: cx.subscriber.clone(),
                event: event.clone(),
                attempts,
                last_error: error,
                failed_at: Utc::now(),
            });
        }
        Outcome::Done
    }

    /// Sleeps `wait`; returns `true` when the subscription stopped meanwhile.
    async fn sleep_unless_stopped(&self, wait: Duration) -> bool {
        let mut stopped = self.cx.stopped.clone();
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => true,
            () = tokio::time::sleep(wait) => false,
        }
    }

    fn store_offset(&self, message: &OwnedMessage) {
        // librdkafka stores `offset + 1`, the next one to read.
        if let Err(error) = self
            .cx
            .consumer
            .store_offset(&self.cx.topic, self.partition, message.offset())
        {
            // Expected after a revocation: the partition is no longer ours.
            tracing::debug!(topic = %self.cx.topic, partition = self.partition, %error, "offset not stored");
        }
    }

    /// Counts the message as handled and resumes fetching once the queue
    /// has drained to half its limit.
    fn dequeued(&self) {
        let left = self.state.queued.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        if left > self.cx.shared.settings.partition_queue / 2 || self.state.is_revoked() {
            return;
        }
        let mut paused = self.state.paused.lock().unwrap_or_else(PoisonError::into_inner);
        if *paused {
            self.cx.set_paused(self.partition, false);
            *paused = false;
        }
    }
}
