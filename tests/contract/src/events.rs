//! The event bus: order per key, redelivery after a handler error,
//! dead-lettering after the last retry, and no loss across a consumer
//! restart (with the processed-events record, the effect happens once).
//!
//! Each check takes the topic to use: a bus on a shared broker needs a
//! fresh topic per check, which the caller creates the name of and cleans up.

pub mod processed;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use platform_application::{IdempotentHandler, TransactionalEventHandler};
use platform_ports::BoxError;
use platform_ports::audit::{AuditFilter, AuditStore};
use platform_ports::events::{Event, EventBus, EventHandler, ProcessedEvents};
use platform_ports::model::{EventId, PageRequest, TenantId};
use platform_ports::persistence::{Transaction, UnitOfWork};

use crate::fixtures::{audit_entry, event, now, tenant};

/// Longest wait for deliveries (a Kafka consumer's first group join included).
const WAIT: Duration = Duration::from_secs(60);

/// Decides whether attempt number `attempt` (1 for the first) at an event fails.
type FailWhen = dyn Fn(&Event, u32) -> bool + Send + Sync;

/// Records every successful delivery and counts every attempt.
struct Recorder {
    handled: Mutex<Vec<Event>>,
    attempts: Mutex<HashMap<EventId, u32>>,
    fail: Box<FailWhen>,
}

impl Recorder {
    fn new(fail: impl Fn(&Event, u32) -> bool + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            handled: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            fail: Box::new(fail),
        })
    }

    fn handled(&self) -> Vec<Event> {
        self.handled.lock().unwrap().clone()
    }

    fn attempts(&self, id: EventId) -> u32 {
        self.attempts.lock().unwrap().get(&id).copied().unwrap_or(0)
    }
}

#[async_trait]
impl EventHandler for Recorder {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(event.id).or_insert(0);
            *n += 1;
            *n
        };
        if (self.fail)(event, attempt) {
            return Err(format!("attempt {attempt} at {} refused", event.event_type).into());
        }
        self.handled.lock().unwrap().push(event.clone());
        Ok(())
    }
}

/// Polls `done` until it holds, failing the check after [`WAIT`].
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `count` events over `aggregates` aggregates, interleaved, numbered in `data.n`.
fn keyed_events(t: TenantId, count: usize, aggregates: usize) -> Vec<Event> {
    (0..count)
        .map(|n| {
            let mut e = event(t, "contract.numbered", Some(&format!("agg-{}", n % aggregates)));
            e.data = serde_json::json!({ "n": n });
            e
        })
        .collect()
}

/// Event ids by aggregate, in the order given.
fn by_aggregate(events: &[Event]) -> BTreeMap<String, Vec<EventId>> {
    let mut map: BTreeMap<String, Vec<EventId>> = BTreeMap::new();
    for e in events {
        map.entry(e.aggregate_id.clone().unwrap_or_default())
            .or_default()
            .push(e.id);
    }
    map
}

async fn publish_all(bus: &dyn EventBus, topic: &str, events: &[Event]) {
    for e in events {
        bus.publish(topic, e).await.unwrap();
    }
}

/// One subscriber sees each aggregate's events in publish order.
pub async fn bus_keeps_order_per_key(bus: Arc<dyn EventBus>, topic: &str) {
    let events = keyed_events(tenant(), 120, 6);
    let recorder = Recorder::new(|_, _| false);
    let id = bus.subscribe(topic, "contract-order", recorder.clone()).await.unwrap();
    publish_all(&*bus, topic, &events).await;

    eventually("every event", || recorder.handled().len() >= events.len()).await;
    let handled = recorder.handled();
    assert_eq!(handled.len(), events.len(), "an event was handled twice");
    assert_eq!(
        by_aggregate(&handled),
        by_aggregate(&events),
        "an aggregate's order changed"
    );
    bus.unsubscribe(id).await.unwrap();
}

/// A handler error makes the bus deliver the event again; later events of
/// the same aggregate wait for it.
pub async fn bus_redelivers_after_a_handler_error(bus: Arc<dyn EventBus>, topic: &str) {
    let t = tenant();
    let flaky = event(t, "contract.flaky", Some("agg-1"));
    let next = event(t, "contract.next", Some("agg-1"));
    let flaky_id = flaky.id;
    let recorder = Recorder::new(move |e, attempt| e.id == flaky_id && attempt <= 2);
    let id = bus
        .subscribe(topic, "contract-redelivery", recorder.clone())
        .await
        .unwrap();
    publish_all(&*bus, topic, &[flaky.clone(), next.clone()]).await;

    eventually("both events", || recorder.handled().len() >= 2).await;
    let order: Vec<EventId> = recorder.handled().iter().map(|e| e.id).collect();
    assert_eq!(order, [flaky.id, next.id], "the next event overtook the retried one");
    assert_eq!(recorder.attempts(flaky.id), 3, "two failures, then success");
    assert_eq!(recorder.attempts(next.id), 1);
    bus.unsubscribe(id).await.unwrap();
}

/// After `max_retries` retries the event is dead-lettered with its attempt
/// count and last error, and the events after it are still handled.
pub async fn bus_dead_letters_after_the_last_retry(bus: Arc<dyn EventBus>, topic: &str, max_retries: u32) {
    let t = tenant();
    let poison = event(t, "contract.poison", Some("agg-1"));
    let after = event(t, "contract.after", Some("agg-1"));
    let poison_id = poison.id;
    let recorder = Recorder::new(move |e, _| e.id == poison_id);
    let id = bus.subscribe(topic, "contract-dlq", recorder.clone()).await.unwrap();
    publish_all(&*bus, topic, &[poison.clone(), after.clone()]).await;

    eventually("the event after the poison one", || !recorder.handled().is_empty()).await;
    assert_eq!(recorder.handled()[0].id, after.id);
    assert_eq!(recorder.attempts(poison.id), max_retries + 1);
    let letters = bus.dead_letters(100).await.unwrap();
    let letter = letters
        .iter()
        .find(|l| l.event.id == poison.id)
        .expect("the poison event is dead-lettered");
    assert_eq!(letter.topic, topic);
    assert_eq!(letter.subscriber, "contract-dlq");
    assert_eq!(letter.attempts, max_retries + 1);
    assert_eq!(letter.event, poison);
    assert!(
        letter.last_error.contains("contract.poison refused"),
        "{}",
        letter.last_error
    );
    assert!(letters.iter().all(|l| l.event.id != after.id));
    bus.unsubscribe(id).await.unwrap();
}

/// The effect of an event: one audit entry in the check's tenant, targeted
/// at the event, written in the handler's unit of work.
struct AuditEffect {
    audit: Arc<dyn AuditStore>,
    tenant: TenantId,
}

#[async_trait]
impl TransactionalEventHandler for AuditEffect {
    async fn handle(&self, tx: &mut Transaction, event: &Event) -> Result<(), BoxError> {
        let mut entry = audit_entry(self.tenant, "contract.effect", now());
        entry.target_id = Some(event.id.to_string());
        self.audit.append(tx, &entry).await?;
        Ok(())
    }
}

/// Counts every delivery before the idempotent handler sees it.
struct Counting {
    inner: IdempotentHandler,
    deliveries: Mutex<HashMap<EventId, u32>>,
}

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, event: &Event) -> Result<(), BoxError> {
        *self.deliveries.lock().unwrap().entry(event.id).or_insert(0) += 1;
        // Slow enough that the consumer is stopped mid-stream.
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.inner.handle(event).await
    }
}

/// The persistence a restart check writes its effects to.
#[derive(Clone)]
pub struct EffectStore {
    /// Opens the handler's units of work.
    pub uow: Arc<dyn UnitOfWork>,
    /// The processed-events record.
    pub processed: Arc<dyn ProcessedEvents>,
    /// Where the effect (an audit entry per event) is written.
    pub audit: Arc<dyn AuditStore>,
}

/// A consumer stopped mid-stream and another started in the same group:
/// every event is delivered at least once (some twice: they are published
/// twice, as a relay does after a lost acknowledgement), and with the
/// processed-events record each has its effect exactly once.
pub async fn bus_loses_nothing_across_a_consumer_restart(bus: Arc<dyn EventBus>, topic: &str, store: EffectStore) {
    const SUBSCRIBER: &str = "contract-restart";
    let t = tenant();
    let first = keyed_events(t, 60, 6);
    let second = keyed_events(t, 20, 6);
    let effect = Arc::new(AuditEffect {
        audit: store.audit.clone(),
        tenant: t,
    });
    let consumer = || {
        Arc::new(Counting {
            inner: IdempotentHandler::new(SUBSCRIBER, store.uow.clone(), store.processed.clone(), effect.clone()),
            deliveries: Mutex::new(HashMap::new()),
        })
    };

    let one = consumer();
    let id = bus.subscribe(topic, SUBSCRIBER, one.clone()).await.unwrap();
    publish_all(&*bus, topic, &first).await;
    eventually("the first consumer to get going", || {
        one.deliveries.lock().unwrap().len() >= 15
    })
    .await;
    bus.unsubscribe(id).await.unwrap();
    let handled_by_one = one.deliveries.lock().unwrap().len();

    // Published while no consumer runs, some of them a second time.
    publish_all(&*bus, topic, &second).await;
    publish_all(&*bus, topic, &first[..10]).await;
    let two = consumer();
    let id = bus.subscribe(topic, SUBSCRIBER, two.clone()).await.unwrap();

    let all: Vec<&Event> = first.iter().chain(&second).collect();
    let delivered = |id: &EventId| {
        one.deliveries.lock().unwrap().contains_key(id) || two.deliveries.lock().unwrap().contains_key(id)
    };
    eventually("every event after the restart", || all.iter().all(|e| delivered(&e.id))).await;
    // The duplicates published last reach the second consumer too.
    eventually("the duplicates", || {
        first[..10]
            .iter()
            .all(|e| two.deliveries.lock().unwrap().contains_key(&e.id))
    })
    .await;
    bus.unsubscribe(id).await.unwrap();
    assert!(
        handled_by_one < first.len(),
        "the first consumer was not stopped mid-stream"
    );

    let page = PageRequest {
        limit: PageRequest::MAX_LIMIT,
        cursor: None,
    };
    let entries = store
        .audit
        .query(t, &AuditFilter::default(), &page)
        .await
        .unwrap()
        .items;
    let mut effects: HashMap<String, usize> = HashMap::new();
    for entry in entries {
        *effects.entry(entry.target_id.unwrap_or_default()).or_insert(0) += 1;
    }
    for e in &all {
        assert_eq!(
            effects.get(&e.id.to_string()),
            Some(&1),
            "event {} had its effect {:?} times",
            e.id,
            effects.get(&e.id.to_string())
        );
    }
    assert_eq!(effects.len(), all.len());
    for e in &all {
        assert!(store.processed.is_processed(SUBSCRIBER, e.id).await.unwrap());
    }
}
