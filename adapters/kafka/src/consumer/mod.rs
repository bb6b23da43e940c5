//! One subscription: a consumer in the group `<prefix><subscriber>`, a
//! dispatcher that hands each partition's messages to that partition's
//! worker, and the shutdown that lets handlers finish and commits.
//!
//! Partitions run concurrently; one partition's messages are handled one at
//! a time, in offset order. A worker stores a message's offset only after
//! its handler succeeded (or it was dead-lettered), and librdkafka commits
//! stored offsets in the background and once more on stop: at least once.

mod partition;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use platform_ports::events::EventHandler;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::bus::Shared;
use crate::context::KafkaContext;
use crate::error::KafkaBusError;

use partition::PartitionWorker;

type KafkaConsumer = StreamConsumer<KafkaContext>;

/// A partition's worker as the dispatcher and the rebalance callback see it.
#[derive(Default)]
pub(crate) struct PartitionState {
    /// Messages handed over and not yet handled.
    queued: AtomicUsize,
    /// Whether the dispatcher paused fetching for back pressure.
    paused: Mutex<bool>,
    /// Set when the group took the partition away: the worker finishes the
    /// event in hand and drops the rest (the next owner reads them again
    /// from the committed offset).
    revoked: AtomicBool,
}

impl PartitionState {
    pub(crate) fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
    }
}

/// The current worker state of each partition, shared with the rebalance callback.
#[derive(Default)]
pub(crate) struct Workers {
    partitions: Mutex<HashMap<i32, Arc<PartitionState>>>,
}

impl Workers {
    /// Marks the workers of `partitions` revoked.
    pub(crate) fn revoke(&self, partitions: impl Iterator<Item = i32>) {
        let mut current = self.partitions.lock().unwrap_or_else(PoisonError::into_inner);
        for partition in partitions {
            if let Some(state) = current.remove(&partition) {
                state.revoked.store(true, Ordering::SeqCst);
            }
        }
    }

    fn insert(&self, partition: i32, state: Arc<PartitionState>) {
        self.partitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(partition, state);
    }
}

/// What every worker of one subscription shares.
pub(crate) struct SubscriptionContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) consumer: GroupConsumer,
    pub(crate) topic: String,
    pub(crate) subscriber: String,
    pub(crate) group: String,
    pub(crate) handler: Arc<dyn EventHandler>,
    pub(crate) stopped: watch::Receiver<bool>,
}

impl SubscriptionContext {
    fn partition_list(&self, partition: i32) -> TopicPartitionList {
        let mut list = TopicPartitionList::with_capacity(1);
        list.add_partition(&self.topic, partition);
        list
    }

    /// Pauses or resumes fetching `partition`; a failure only costs memory
    /// (paused) or speed (resumed), so it is logged.
    fn set_paused(&self, partition: i32, pause: bool) {
        let list = self.partition_list(partition);
        let result = if pause {
            self.consumer.pause(&list)
        } else {
            self.consumer.resume(&list)
        };
        if let Err(error) = result {
            tracing::debug!(topic = %self.topic, partition, pause, %error, "pause/resume refused");
        }
    }

    fn is_stopping(&self) -> bool {
        *self.stopped.borrow()
    }
}

/// A running subscription.
pub(crate) struct Subscription {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Subscription {
    /// Creates the group's consumer and starts dispatching. `topic_ready`
    /// tells whether the topic is known to exist; otherwise the task makes
    /// sure of it first, retrying while the brokers are unreachable.
    pub(crate) fn start(
        shared: Arc<Shared>,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, KafkaBusError> {
        let workers = Arc::new(Workers::default());
        let group = shared.settings.group_id(subscriber);
        let context = KafkaContext {
            instruments: shared.instruments.clone(),
            group: Some(group.clone()),
            workers: Some(workers.clone()),
        };
        let consumer: KafkaConsumer = shared
            .settings
            .consumer_config(subscriber)
            .create_with_context(context)
            .map_err(KafkaBusError::Client)?;
        let (stop, stopped) = watch::channel(false);
        let context = Arc::new(SubscriptionContext {
            shared,
            consumer: GroupConsumer::new(consumer, group.clone()),
            topic: topic.to_owned(),
            subscriber: subscriber.to_owned(),
            group,
            handler,
            stopped,
        });
        let task = tokio::spawn(Dispatcher::new(context, workers).run());
        Ok(Self { stop, task })
    }

    /// Stops fetching, lets handlers in progress finish (up to the drain
    /// timeout), commits the stored offsets and leaves the group.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "subscription task failed");
        }
    }
}

/// A partition's worker as the dispatcher holds it.
struct Handle {
    queue: mpsc::UnboundedSender<OwnedMessage>,
    state: Arc<PartitionState>,
    task: JoinHandle<()>,
}

/// Reads the consumer and hands messages to partition workers.
struct Dispatcher {
    cx: Arc<SubscriptionContext>,
    workers: Arc<Workers>,
    handles: HashMap<i32, Handle>,
    /// Workers of revoked partitions still finishing their event.
    retired: Vec<JoinHandle<()>>,
}

impl Dispatcher {
    fn new(cx: Arc<SubscriptionContext>, workers: Arc<Workers>) -> Self {
        Self {
            cx,
            workers,
            handles: HashMap::new(),
            retired: Vec::new(),
        }
    }

    async fn run(mut self) {
        if self.prepare().await {
            self.dispatch_until_stopped().await;
        }
        self.shut_down().await;
    }

    /// Makes sure the topic exists, then joins the group. Returns `false`
    /// when stopped first.
    async fn prepare(&self) -> bool {
        let cx = &self.cx;
        let mut attempt = 0u32;
        while !cx.shared.topics.is_known(&cx.topic) {
            let Err(error) = cx.shared.topics.ensure_with_dead_letters(&cx.topic).await else {
                break;
            };
            attempt += 1;
            let wait = cx.shared.settings.retry.backoff(attempt);
            tracing::warn!(topic = %cx.topic, group = %cx.group, %error, retry_in = ?wait, "topic not ready; consumer waits");
            if self.sleep_unless_stopped(wait).await {
                return false;
            }
        }
        if let Err(error) = cx.consumer.subscribe(&[cx.topic.as_str()]) {
            tracing::error!(topic = %cx.topic, group = %cx.group, %error, "subscribing failed");
            return false;
        }
        tracing::info!(topic = %cx.topic, group = %cx.group, "consumer subscribed");
        true
    }

    /// Sleeps `wait`; returns `true` when stopped meanwhile.
    async fn sleep_unless_stopped(&self, wait: Duration) -> bool {
        let mut stopped = self.cx.stopped.clone();
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => true,
            () = tokio::time::sleep(wait) => false,
        }
    }

    async fn dispatch_until_stopped(&mut self) {
        let mut stopped = self.cx.stopped.clone();
        loop {
            let received = tokio::select! {
                biased;
                _ = stopped.wait_for(|stop| *stop) => return,
                received = self.cx.consumer.recv() => received.map(|m| m.detach()),
            };
            match received {
                Ok(message) => self.dispatch(message),
                Err(error) => {
                    tracing::warn!(topic = %self.cx.topic, group = %self.cx.group, %error, "consumer error");
                    if self.sleep_unless_stopped(Duration::from_millis(200)).await {
                        return;
                    }
                }
            }
        }
    }

    fn dispatch(&mut self, message: OwnedMessage) {
        let partition = message.partition();
        let needs_worker = self.handles.get(&partition).is_none_or(|h| h.state.is_revoked());
        if needs_worker {
            self.spawn_worker(partition);
        }
        let Some(handle) = self.handles.get(&partition) else {
            return;
        };
        let queued = handle.state.queued.fetch_add(1, Ordering::SeqCst) + 1;
        if handle.queue.send(message).is_err() {
            // The worker ended (stopping): the message stays uncommitted.
            return;
        }
        if queued >= self.cx.shared.settings.partition_queue {
            let mut paused = handle.state.paused.lock().unwrap_or_else(PoisonError::into_inner);
            if !*paused {
                self.cx.set_paused(partition, true);
                *paused = true;
            }
        }
    }

    /// A new worker for `partition`; it starts once the partition's previous
    /// worker (if any) is done, so one partition never runs two handlers.
    fn spawn_worker(&mut self, partition: i32) {
        let previous = self.handles.remove(&partition).map(|h| h.task);
        self.retired.retain(|task| !task.is_finished());
        let state = Arc::new(PartitionState::default());
        self.workers.insert(partition, state.clone());
        // A partition paused before a rebalance may come back paused.
        self.cx.set_paused(partition, false);
        let (queue, messages) = mpsc::unbounded_channel();
        let worker = PartitionWorker {
            cx: self.cx.clone(),
            partition,
            state: state.clone(),
            messages,
        };
        let task = tokio::spawn(worker.run(previous));
        self.handles.insert(partition, Handle { queue, state, task });
    }

    async fn shut_down(self) {
        let Self {
            cx, handles, retired, ..
        } = self;
        // Workers see the stop flag and finish only the event in hand.
        let mut tasks: Vec<JoinHandle<()>> = handles.into_values().map(|h| h.task).collect();
        tasks.extend(retired);
        let drain = cx.shared.settings.drain_timeout;
        let started = tokio::time::Instant::now();
        let mut aborted = 0usize;
        for mut task in tasks {
            let left = drain.saturating_sub(started.elapsed());
            if tokio::time::timeout(left, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
                aborted += 1;
            }
        }
        if aborted > 0 {
            tracing::warn!(topic = %cx.topic, group = %cx.group, aborted, ?drain, "handlers did not finish in time; their events will be redelivered");
        }
        // Dropping the last handle commits and leaves the group on a thread
        // of its own (see `GroupConsumer`); waiting longer than the session
        // timeout gains nothing, since the group drops a silent member then.
        let mut closed = cx.consumer.closed();
        let limit = cx.shared.settings.session_timeout;
        let (topic, group) = (cx.topic.clone(), cx.group.clone());
        drop(cx);
        if tokio::time::timeout(limit, closed.wait_for(|closed| *closed))
            .await
            .is_err()
        {
            tracing::warn!(
                %topic, %group, waited = ?limit,
                "consumer has not left its group yet: librdkafka is still closing it (a group join or \
                 rebalance in flight); the close goes on in the background"
            );
        }
    }
}

/// A subscription's consumer. librdkafka's close (run when the consumer is
/// dropped) commits nothing by itself and waits for the group without a
/// bound: for a join in flight, and, when an assignment arrives just as the
/// group ends, forever (the assignment callback waits for a reply that never
/// comes). So the last handle is never dropped on a runtime thread, where it
/// would hold up the runtime's shutdown: a thread of its own commits the
/// stored offsets and closes it, and [`GroupConsumer::closed`] tells when
/// that is done.
pub(crate) struct GroupConsumer {
    consumer: Arc<KafkaConsumer>,
    group: String,
    closed: watch::Sender<bool>,
}

impl GroupConsumer {
    fn new(consumer: KafkaConsumer, group: String) -> Self {
        Self {
            consumer: Arc::new(consumer),
            group,
            closed: watch::channel(false).0,
        }
    }

    /// Turns `true` once the consumer committed and left its group.
    pub(crate) fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

impl std::ops::Deref for GroupConsumer {
    type Target = KafkaConsumer;

    fn deref(&self) -> &KafkaConsumer {
        &self.consumer
    }
}

impl Drop for GroupConsumer {
    fn drop(&mut self) {
        // The clone is the last handle once `self` is gone.
        let consumer = Arc::clone(&self.consumer);
        let closed = std::mem::replace(&mut self.closed, watch::channel(true).0);
        let group = self.group.clone();
        let close = move || {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                Err(error) => {
                    tracing::warn!(%group, %error, "final offset commit failed; the group resumes from the last commit");
                }
            }
            drop(consumer);
            closed.send_replace(true);
        };
        if let Err(error) = std::thread::Builder::new().name("kafka-close".to_owned()).spawn(close) {
            // The closure (and with it the consumer) was dropped right here.
            tracing::error!(group = %self.group, %error, "no thread to close the consumer on");
        }
    }
}
