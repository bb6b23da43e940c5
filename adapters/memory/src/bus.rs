//! The in-process event bus: topics, subscriber groups, one worker task per
//! subscription, retries with backoff and a dead-letter ring.

pub(crate) mod attempt;
mod parked;
mod worker;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use platform_ports::BoxError;
use platform_ports::events::{BusError, EventBus, EventHandler, SubscriptionId, validate_topic};
use platform_ports::events::{DeadLetter, Event};
use platform_ports::lifecycle::BackgroundService;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use parked::Parked;
use worker::{DeadLetters, Worker};

/// How the in-process bus queues, retries and shuts down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InProcessBusSettings {
    /// Events each subscription may hold before `publish` waits for room.
    pub queue_capacity: usize,
    /// Retries after a handler's first failure before the event is dead-lettered.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each later one.
    pub initial_backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// How long `close` lets workers drain their queues before aborting them.
    pub drain_timeout: Duration,
    /// Dead letters kept; the oldest are dropped beyond this.
    pub dead_letter_capacity: usize,
}

impl Default for InProcessBusSettings {
    fn default() -> Self {
        Self {
            queue_capacity: 1024,
            max_retries: 5,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            dead_letter_capacity: 1000,
        }
    }
}

/// Publish/subscribe inside this process.
///
/// `publish` only enqueues (waiting when a subscriber's queue is full, never
/// dropping); each subscription's worker task handles its events one at a
/// time, so a subscriber sees a topic's events in publish order. Workers are
/// spawned by `subscribe`, so the bus can be built without a runtime.
/// Subscriptions sharing a subscriber name on a topic form a group that
/// handles each event once, split by aggregate id as Kafka partitions do.
/// When a group's last member unsubscribes, the events it had not handled
/// and those published meanwhile wait (up to `queue_capacity`, oldest
/// dropped beyond) for the next member of that name, as a Kafka group
/// resumes from its committed offset. Clones share the subscriptions (one
/// can go to the lifecycle).
#[derive(Clone, shaku::Component)]
#[shaku(interface = EventBus)]
pub struct InProcessEventBus {
    /// Queue sizes, retry policy and drain timeout.
    #[shaku(default)]
    settings: InProcessBusSettings,
    #[shaku(force_default)]
    state: Arc<BusState>,
}

#[derive(Default)]
struct BusState {
    closed: AtomicBool,
    next_id: AtomicU64,
    topics: RwLock<HashMap<String, Vec<Subscription>>>,
    /// Backlogs of memberless groups; locked after `topics`, never before.
    parked: Mutex<Parked>,
    dead_letters: Arc<DeadLetters>,
}

struct Subscription {
    id: SubscriptionId,
    subscriber: String,
    queue: mpsc::Sender<Arc<Event>>,
    stop: watch::Sender<bool>,
    /// Ends with the events it had not handled.
    worker: JoinHandle<Vec<Arc<Event>>>,
}

impl Default for InProcessEventBus {
    fn default() -> Self {
        Self::new(InProcessBusSettings::default())
    }
}

impl InProcessEventBus {
    /// A bus with these settings and no subscriptions.
    #[must_use]
    pub fn new(settings: InProcessBusSettings) -> Self {
        Self {
            settings,
            state: Arc::default(),
        }
    }

    /// Stops accepting publishes and subscriptions, lets every worker finish
    /// what was queued for up to `drain_timeout`, then aborts the rest.
    ///
    /// # Errors
    /// [`BusError::Backend`] naming how many workers had to be aborted.
    pub async fn close(&self, drain_timeout: Duration) -> Result<(), BusError> {
        self.state.closed.store(true, Ordering::SeqCst);
        let subscriptions: Vec<Subscription> = {
            let mut topics = self.state.topics.write().unwrap_or_else(PoisonError::into_inner);
            topics.drain().flat_map(|(_, subs)| subs).collect()
        };
        // Dropping a queue's sender lets its worker finish what is queued and
        // return; dropping the stop sender does not cancel it (see `worker`).
        let workers: Vec<_> = subscriptions.into_iter().map(|s| s.worker).collect();
        let started = tokio::time::Instant::now();
        let mut aborted = 0usize;
        for mut worker in workers {
            let left = drain_timeout.saturating_sub(started.elapsed());
            if tokio::time::timeout(left, &mut worker).await.is_err() {
                worker.abort();
                aborted += 1;
            }
        }
        if aborted == 0 {
            Ok(())
        } else {
            tracing::warn!(aborted, ?drain_timeout, "event bus workers did not drain in time");
            Err(BusError::Backend(
                format!("{aborted} subscription worker(s) did not drain within {drain_timeout:?}").into(),
            ))
        }
    }

    /// Whether `close` has been called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state.closed.load(Ordering::SeqCst)
    }

    /// Gives a leaving member's unhandled events to its group: to the
    /// members left (by aggregate, as `publish` would), else to the group's
    /// backlog ahead of what was published since.
    async fn hand_over(&self, topic: &str, group: &str, events: Vec<Arc<Event>>) {
        let targets: Vec<(mpsc::Sender<Arc<Event>>, Arc<Event>)> = {
            let topics = self.state.topics.read().unwrap_or_else(PoisonError::into_inner);
            let group_members: Vec<&Subscription> = topics
                .get(topic)
                .into_iter()
                .flatten()
                .filter(|s| s.subscriber == group)
                .collect();
            if group_members.is_empty() {
                self.state
                    .parked
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push_front(topic, group, events);
                return;
            }
            events
                .into_iter()
                .map(|event| (Self::member(&group_members, &event).queue.clone(), event))
                .collect()
        };
        for (queue, event) in targets {
            let _ = queue.send(event).await;
        }
    }

    /// The queues one event goes to: every subscriber group once, and within
    /// a group the member its aggregate (or, lacking one, its id) hashes to.
    fn targets(subscriptions: &[Subscription], event: &Event) -> Vec<mpsc::Sender<Arc<Event>>> {
        if let [only] = subscriptions {
            return vec![only.queue.clone()];
        }
        let mut groups: Vec<(&str, Vec<&Subscription>)> = Vec::new();
        for sub in subscriptions {
            match groups.iter_mut().find(|(name, _)| *name == sub.subscriber) {
                Some((_, members)) => members.push(sub),
                None => groups.push((&sub.subscriber, vec![sub])),
            }
        }
        groups
            .into_iter()
            .map(|(_, members)| Self::member(&members, event).queue.clone())
            .collect()
    }

    /// The member of a group `event` goes to: its aggregate's (or, lacking
    /// one, its id's) hash picks one. `members` is never empty.
    fn member<'s>(members: &[&'s Subscription], event: &Event) -> &'s Subscription {
        if members.len() == 1 {
            return members[0];
        }
        let mut hasher = DefaultHasher::new();
        match &event.aggregate_id {
            Some(aggregate) => aggregate.hash(&mut hasher),
            None => event.id.hash(&mut hasher),
        }
        // The modulo keeps the index in range, so the truncation is harmless.
        #[allow(clippy::cast_possible_truncation)]
        let index = (hasher.finish() % members.len() as u64) as usize;
        members[index]
    }
}

#[async_trait]
impl EventBus for InProcessEventBus {
    async fn publish(&self, topic: &str, event: &Event) -> Result<(), BusError> {
        validate_topic(topic)?;
        let (targets, event) = {
            let topics = self.state.topics.read().unwrap_or_else(PoisonError::into_inner);
            // Checked under the lock: `close` takes the write lock after setting
            // the flag, so an event either reaches the draining queues or is refused.
            if self.is_closed() {
                return Err(BusError::Closed);
            }
            let targets = topics
                .get(topic)
                .map(|subs| Self::targets(subs, event))
                .unwrap_or_default();
            let mut parked = self.state.parked.lock().unwrap_or_else(PoisonError::into_inner);
            if targets.is_empty() && !parked.waits_on(topic) {
                return Ok(());
            }
            let event = Arc::new(event.clone());
            parked.push(topic, &event, self.settings.queue_capacity);
            (targets, event)
        };
        for queue in targets {
            // A send fails only when the subscription went away meanwhile,
            // which is the same as publishing after it unsubscribed.
            let _ = queue.send(event.clone()).await;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        subscriber: &str,
        handler: Arc<dyn EventHandler>,
    ) -> Result<SubscriptionId, BusError> {
        validate_topic(topic)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|err| BusError::Backend(format!("subscribe needs a tokio runtime: {err}").into()))?;
        let mut topics = self.state.topics.write().unwrap_or_else(PoisonError::into_inner);
        if self.is_closed() {
            return Err(BusError::Closed);
        }
        let id = SubscriptionId(self.state.next_id.fetch_add(1, Ordering::Relaxed));
        let (queue, events) = mpsc::channel(self.settings.queue_capacity.max(1));
        // A group coming back handles what waited for it first; the backlog
        // is never longer than the queue, so it fits.
        let backlog = self
            .state
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(topic, subscriber);
        for event in backlog {
            let _ = queue.try_send(event);
        }
        let (stop, stopped) = watch::channel(false);
        let worker = Worker {
            topic: topic.to_owned(),
            subscriber: subscriber.to_owned(),
            handler,
            events,
            stopped,
            settings: self.settings.clone(),
            dead_letters: self.state.dead_letters.clone(),
        };
        let worker = runtime.spawn(worker.run());
        topics.entry(topic.to_owned()).or_default().push(Subscription {
            id,
            subscriber: subscriber.to_owned(),
            queue,
            stop,
            worker,
        });
        tracing::debug!(topic, subscriber, subscription = id.0, "subscribed");
        Ok(id)
    }

    async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), BusError> {
        let (topic, subscription) = {
            let mut topics = self.state.topics.write().unwrap_or_else(PoisonError::into_inner);
            let mut removed = None;
            for (topic, subscriptions) in topics.iter_mut() {
                if let Some(index) = subscriptions.iter().position(|s| s.id == id) {
                    let subscription = subscriptions.remove(index);
                    if !subscriptions.iter().any(|s| s.subscriber == subscription.subscriber) {
                        // The group's last member: keep its events from now on.
                        self.state
                            .parked
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .open(topic, &subscription.subscriber);
                    }
                    removed = Some((topic.clone(), subscription));
                    break;
                }
            }
            topics.retain(|_, subscriptions| !subscriptions.is_empty());
            removed.ok_or(BusError::UnknownSubscription)?
        };
        // The worker finishes the event in hand and hands back the rest.
        let _ = subscription.stop.send(true);
        let mut worker = subscription.worker;
        let unhandled = match tokio::time::timeout(self.settings.drain_timeout, &mut worker).await {
            Ok(Ok(unhandled)) => unhandled,
            Ok(Err(_)) => Vec::new(),
            Err(_) => {
                worker.abort();
                tracing::warn!(subscriber = %subscription.subscriber, subscription = id.0, "handler did not finish in time; its queued events are lost");
                return Ok(());
            }
        };
        tracing::debug!(subscriber = %subscription.subscriber, subscription = id.0, unhandled = unhandled.len(), "unsubscribed");
        if !unhandled.is_empty() {
            self.hand_over(&topic, &subscription.subscriber, unhandled).await;
        }
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, BusError> {
        Ok(self.state.dead_letters.latest(limit))
    }
}

#[async_trait]
impl BackgroundService for InProcessEventBus {
    fn name(&self) -> &'static str {
        "in-process event bus"
    }

    async fn start(&self) -> Result<(), BoxError> {
        // Workers start with their subscriptions.
        Ok(())
    }

    async fn stop(&self) -> Result<(), BoxError> {
        self.close(self.settings.drain_timeout).await.map_err(Into::into)
    }
}

#[cfg(test)]
mod tests;
